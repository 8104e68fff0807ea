//! Socket.IO requests keep their URI, headers and extensions for the life of the connection
//! (socketioxide exposes them as `req_parts`). hyper parses the URI and header values without
//! copying: they are slices of the connection's read buffer, so holding them (or axum's
//! `OriginalUri`, a clone of the URI) holds that whole buffer, 16 KiB, per connection. This
//! middleware copies them into allocations of their own before the request reaches
//! socketioxide, so the buffer is freed once the request has been read.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

/// Passes the request on with its URI and header values copied out of hyper's read buffer.
/// Other requests (static files share the fallback service) are passed on as they are.
pub async fn own_request_parts(request: Request, next: Next) -> Response {
    if !super::is_socket_io(&request) {
        return next.run(request).await;
    }
    next.run(detach(request)).await
}

/// The same request, with a URI and header values that share no memory with the buffer
/// they were parsed from.
fn detach(request: Request) -> Request {
    let (mut parts, body) = request.into_parts();
    if let Some(uri) = owned_uri(&parts.uri) {
        parts.uri = uri;
    }
    if let Some(OriginalUri(original)) = parts.extensions.get::<OriginalUri>()
        && let Some(original) = owned_uri(original)
    {
        parts.extensions.insert(OriginalUri(original));
    }
    parts.headers = copy_headers(&parts.headers);
    Request::from_parts(parts, body)
}

/// A copy of `uri` in an allocation of its own.
fn owned_uri(uri: &Uri) -> Option<Uri> {
    Uri::try_from(uri.to_string()).ok()
}

/// A copy of `headers` whose values own their bytes.
fn copy_headers(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        copy.append(name.clone(), owned);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use bytes::Bytes;

    #[test]
    fn copies_keep_every_header_and_the_uri() {
        let buffer = Bytes::from_static(b"/socket.io/?EIO=4&transport=websocket");
        let mut request = Request::builder()
            .uri(Uri::from_maybe_shared(buffer).unwrap())
            .header("origin", "http://example.test")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .body(Body::empty())
            .unwrap();
        request
            .headers_mut()
            .get_mut("cookie")
            .unwrap()
            .set_sensitive(true);
        let copied = detach(request);
        assert_eq!(copied.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(copied.uri().query(), Some("EIO=4&transport=websocket"));
        assert_eq!(copied.headers()["origin"], "http://example.test");
        let cookies: Vec<_> = copied.headers().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(copied.headers()["cookie"].is_sensitive());
    }
}
