/*
 * framing.c — see framing.h.
 */
#include "http/framing.h"

#include <string.h>
#include <strings.h>

#include "core/banned.h"

/* The value of a header line "name: value" (spaces trimmed), if the line has that name. */
static bool header_value(const char *line, size_t len, const char *name, const char **v, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    line += n + 1;
    len -= n + 1;
    while (len && (*line == ' ' || *line == '\t'))
        line++, len--;
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    *v = line;
    *vlen = len;
    return true;
}

bool pl_http1_framing_ok(h2o_req_t *req)
{
    h2o_socket_t *sock;
    const char *p, *end, *cl = NULL, *v;
    size_t cl_len = 0, vlen;
    int ncl = 0, nte = 0;
    if (req->version >= 0x200 || req->entity.base == NULL || req->conn->callbacks->get_socket == NULL)
        return true;
    if ((sock = req->conn->callbacks->get_socket(req->conn)) == NULL || sock->input == NULL)
        return true;
    p = sock->input->bytes;
    end = p + sock->input->size;
    /* skip the request line, then one header per line until the empty line */
    if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
        return true;
    for (p++; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '\r'))
            break;
        if (header_value(p, len, "content-length", &v, &vlen)) {
            if (ncl++ && (vlen != cl_len || memcmp(v, cl, vlen) != 0))
                return false; /* two different lengths */
            cl = v;
            cl_len = vlen;
        } else if (header_value(p, len, "transfer-encoding", &v, &vlen)) {
            nte++;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return !(nte && ncl) && nte <= 1;
}
