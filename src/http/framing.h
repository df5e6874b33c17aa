/*
 * framing.h — HTTP/1.1 message framing checks h2o 2.2 does not make (RFC 9112 §6.1, §6.3).
 *
 * h2o frames a request body by the first Content-Length, or by Transfer-Encoding when both
 * are present, and hides both headers from handlers. A request with two different lengths,
 * or with both headers, is how a hidden request is smuggled past a proxy that frames it the
 * other way; such a request is refused (400) and its connection closed, so nothing after it
 * on that connection runs.
 */
#ifndef PL_HTTP_FRAMING_H
#define PL_HTTP_FRAMING_H

#include <h2o.h>
#include <stdbool.h>

/* Whether req's framing headers are unambiguous. Looks only at HTTP/1 requests with a body
 * framing header (req->entity set); the raw header block is still at the start of the
 * connection's input buffer while the request is handled. */
bool pl_http1_framing_ok(h2o_req_t *req);

#endif
