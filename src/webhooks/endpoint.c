/*
 * endpoint.c — what the routes and the sender share about endpoints: the guard against
 * server-side request forgery (at save time and again when a socket opens) and reading an
 * endpoint as the API shows it.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "webhooks/internal.h"
#include "core/banned.h"

/* ---- SSRF guard ---- */

bool pl_webhook_addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        unsigned o1 = a >> 24, o2 = (a >> 16) & 0xff, o3 = (a >> 8) & 0xff;
        return o1 == 0 || o1 == 10 || o1 == 127 || /* this network, private, loopback */
               (o1 == 100 && (o2 & 0xc0) == 64) || /* carrier-grade NAT */
               (o1 == 169 && o2 == 254) ||         /* link-local, cloud metadata */
               (o1 == 172 && (o2 & 0xf0) == 16) || (o1 == 192 && o2 == 168) || /* private */
               (o1 == 192 && o2 == 0 && o3 == 0) ||
               (o1 == 198 && (o2 & 0xfe) == 18) || /* special, benchmark */
               o1 >= 224;                          /* multicast, reserved, broadcast */
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t zero[16] = {0}, mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
            return true; /* :: and ::1 */
        if (memcmp(b, mapped, 12) == 0) {
            struct sockaddr_in v4;
            memset(&v4, 0, sizeof(v4));
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, b + 12, 4);
            return pl_webhook_addr_private((struct sockaddr *)&v4);
        }
        return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
    }
    return true;
}

/* NULL when the URL may be called; else why not. Resolves the host now (creation time). */
const char *pl_webhook_url_check(const char *url, bool allow_private)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    const char *why = NULL;
    struct addrinfo hints, *res = NULL, *ai;
    if (u == NULL)
        return "cannot parse the URL";
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        why = "is not a valid URL";
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        why = "must be an http or https URL";
        goto out;
    }
    if (allow_private)
        goto out;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (host[0] == '[') { /* an IPv6 literal */
        size_t n = strlen(host);
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        why = "has a host name that does not resolve";
        goto out;
    }
    for (ai = res; ai; ai = ai->ai_next)
        if (pl_webhook_addr_private(ai->ai_addr)) {
            why = "points at a private, loopback, link-local or metadata address";
            break;
        }
    freeaddrinfo(res);
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return why;
}

/* ---- reading endpoints ---- */

json_t *pl_webhook_endpoint_json(pl_rows_t *r)
{
    json_t *events = json_loads(pl_rows_text(r, 3), 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o}", "id", pl_rows_text(r, 0), "url",
                     pl_rows_text(r, 1), "description", pl_rows_text(r, 2), "events",
                     events ? events : json_array(), "status", pl_rows_text(r, 4), "failing_since",
                     pl_json_time_or_null(r, 5), "disabled_reason", pl_json_str_or_null(pl_rows_text(r, 6)),
                     "created_at", pl_json_time(pl_rows_int(r, 7)), "updated_at",
                     pl_json_time(pl_rows_int(r, 8)));
}

json_t *pl_webhook_endpoint_get(pl_db_t *db, const char *tenant_id, const char *id)
{
    static const char *sql =
        "SELECT " PL_WEBHOOK_ENDPOINT_COLS " FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2";
    if (!pl_id_ok(id, "whe"))
        return NULL;
    return pl_query_one(db, pl_webhook_endpoint_json, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id)));
}
