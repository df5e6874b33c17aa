/*
 * openapi.c — renders every route (method, path, permission, body schema, success status)
 * into an OpenAPI 3.1 document at start.
 */
#include "http/openapi.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/banned.h"

#ifndef PLINTH_VERSION
#define PLINTH_VERSION "dev"
#endif

static void add_route(const pl_route_t *rt, void *arg)
{
    json_t *paths = arg, *item, *op, *params, *responses;
    char method[16], opid[160], status[8];
    const char *p;
    size_t i, o = 0;

    item = json_object_get(paths, rt->path);
    if (item == NULL) {
        item = json_object();
        json_object_set_new(paths, rt->path, item);
    }
    for (i = 0; rt->method[i] && i < sizeof(method) - 1; i++)
        method[i] = (char)(rt->method[i] | 0x20);
    method[i] = '\0';

    op = json_object();
    json_object_set_new(op, "summary", json_string(rt->summary ? rt->summary : rt->path));
    for (p = rt->path; *p && o < sizeof(opid) - 1; p++)
        opid[o++] = (*p == '/' || *p == '{' || *p == '}' || *p == '-' || *p == '.') ? '_' : *p;
    opid[o] = '\0';
    json_object_set_new(op, "operationId", json_sprintf("%s%s", method, opid));
    {
        /* tag: the first segment after /v1 */
        char tag[64] = "operations";
        const char *s = strncmp(rt->path, "/v1/", 4) == 0 ? rt->path + 4 : NULL;
        if (s) {
            size_t n = strcspn(s, "/");
            if (n < sizeof(tag)) {
                memcpy(tag, s, n);
                tag[n] = '\0';
            }
        }
        json_object_set_new(op, "tags", json_pack("[s]", tag));
    }
    if (rt->permission)
        json_object_set_new(op, "x-permission", json_string(rt->permission));
    json_object_set_new(op, "x-tenant-scoped", json_boolean(rt->flags & PL_R_TENANT));
    if (rt->flags & PL_R_PUBLIC)
        json_object_set_new(op, "security", json_array());

    params = json_array();
    for (p = strchr(rt->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (end == NULL)
            break;
        json_array_append_new(params,
                              json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1, (size_t)(end - p - 1), "in",
                                        "path", "required", 1, "schema", "type", "string"));
    }
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);

    if (rt->input && !(rt->flags & PL_R_RAW_BODY))
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content", "application/json",
                                      "schema", pl_schema_openapi(rt->input)));
    responses = json_object();
    snprintf(status, sizeof(status), "%d", rt->status ? rt->status : 200);
    if ((rt->status ? rt->status : 200) == 204)
        json_object_set_new(responses, status, json_pack("{s:s}", "description", "No content"));
    else
        json_object_set_new(responses, status,
                            json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", "Success", "content",
                                      "application/json", "schema", "type", "object"));
    json_object_set_new(responses, "default",
                        json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", "Problem details (RFC 9457)",
                                  "content", "application/problem+json", "schema", "$ref",
                                  "#/components/schemas/Problem"));
    json_object_set_new(op, "responses", responses);
    json_object_set_new(item, method, op);
}

char *pl_openapi_render(const pl_router_t *r, size_t *len)
{
    json_t *doc, *paths = json_object();
    char *out;
    pl_router_each(r, add_route, paths);
    doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o,s:{s:{s:{s:s,s:s,s:s}},s:{s:{s:s,s:[s,s,s,s,s],s:{s:{s:s},s:{s:s},s:{s:s},"
        "s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s}}}}}}}},s:[{s:[]}]}",
        "openapi", "3.1.0", "info", "title", "Plinth API", "version", PLINTH_VERSION, "description",
        "Multi-tenant SaaS platform: identity, tenancy, and the modules built on them.", "paths", paths,
        "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "description",
        "An access token (JWT) or an API key (pk_live_…)", "schemas", "Problem", "type", "object", "required",
        "type", "title", "status", "detail", "code", "properties", "type", "type", "string", "title", "type",
        "string", "status", "type", "integer", "detail", "type", "string", "code", "type", "string",
        "request_id", "type", "string", "errors", "type", "array", "items", "type", "object", "properties",
        "field", "type", "string", "message", "type", "string", "security", "bearer");
    out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    *len = out ? strlen(out) : 0;
    return out;
}
