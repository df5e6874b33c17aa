/*
 * money.c — currency codes and the money schema.
 */
#include "core/money.h"

#include <string.h>

#include "core/banned.h"

/* Active ISO 4217 codes. */
static const char currencies[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD "
    "CDF "
    "CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD "
    "HKD "
    "HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL "
    "LYD "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR "
    "PLN "
    "PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP "
    "TRY "
    "TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

bool pl_currency_valid(const char *s)
{
    const char *p;
    if (strlen(s) != 3)
        return false;
    for (p = currencies; (p = strstr(p, s)) != NULL; p++)
        if ((p == currencies || p[-1] == ' ') && (p[3] == ' ' || p[3] == '\0'))
            return true;
    return false;
}

const char *pl_currency_check(const char *code)
{
    return pl_currency_valid(code) ? NULL : "is not an ISO 4217 currency code";
}

static const pl_field_t money_fields[] = {
    {"amount", PL_T_INT, PL_F_REQUIRED, 0, PL_MONEY_MAX, NULL, NULL, "minor units (cents); never negative",
     NULL},
    {"currency", PL_T_STRING, PL_F_REQUIRED, 3, 3, NULL, NULL, "ISO 4217 code", pl_currency_check},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

const pl_schema_t pl_money_schema = {"Money", money_fields, false};
