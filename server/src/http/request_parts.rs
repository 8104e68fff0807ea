//! Socket.IO requests keep their URI, headers and extensions for the life of the connection
//! (socketioxide exposes them as `req_parts`). hyper parses the URI and header values without
//! copying: they are slices of the connection's read buffer, so holding them (or axum's
//! `OriginalUri`, a clone of the URI) holds that whole buffer, 16 KiB, per connection. This
//! middleware copies them into allocations of their own before the request reaches
//! socketioxide, so the buffer is freed once the request has been read.

use axum::extract::{OriginalUri, Request};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;

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
    let uri = owned_uri(&parts.uri);
    // axum's `OriginalUri` is normally the same URI (no nested router stripped a prefix):
    // it then shares the one copy.
    let original = match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(original)) if *original == parts.uri => uri.clone(),
        Some(OriginalUri(original)) => owned_uri(original),
        None => None,
    };
    if let Some(original) = original {
        parts.extensions.insert(OriginalUri(original));
    }
    if let Some(uri) = uri {
        parts.uri = uri;
    }
    parts.headers = copy_headers(&parts.headers);
    Request::from_parts(parts, body)
}

/// A copy of `uri` in an allocation of its own. A request's URI is normally a path and query
/// (origin form): that part alone is copied, without printing the URI and parsing it again.
fn owned_uri(uri: &Uri) -> Option<Uri> {
    if uri.scheme().is_none()
        && uri.authority().is_none()
        && let Some(path_and_query) = uri.path_and_query()
    {
        let bytes = Bytes::copy_from_slice(path_and_query.as_str().as_bytes());
        return PathAndQuery::from_maybe_shared(bytes).ok().map(Uri::from);
    }
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
        let original = request.uri().clone();
        request.extensions_mut().insert(OriginalUri(original));
        let copied = detach(request);
        assert_eq!(copied.uri(), "/socket.io/?EIO=4&transport=websocket");
        let OriginalUri(original) = copied.extensions().get::<OriginalUri>().unwrap();
        assert_eq!(original, copied.uri());
        assert_eq!(copied.uri().query(), Some("EIO=4&transport=websocket"));
        assert_eq!(copied.headers()["origin"], "http://example.test");
        let cookies: Vec<_> = copied.headers().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(copied.headers()["cookie"].is_sensitive());
    }

    #[test]
    fn a_uri_with_scheme_and_authority_is_copied_whole() {
        let uri: Uri = "http://example.test:3000/socket.io/?EIO=4".parse().unwrap();
        assert_eq!(owned_uri(&uri).unwrap(), uri);
        let origin_form: Uri = "/socket.io/?EIO=4&transport=polling&t=x".parse().unwrap();
        assert_eq!(owned_uri(&origin_form).unwrap(), origin_form);
    }
}
