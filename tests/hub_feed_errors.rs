//! A broken feed of the hub's records is shown, never taken for "synced": only a 404
//! on the feed's routes means a hub older than the shop roster. Here the bench's
//! real sync task talks to a real HTTP server standing where a reverse proxy would
//! (answering its error page), or to one without the routes (an older hub).

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hub_support::*;
use traveler::hub::SyncState;

/// What the proxy answers on the feed's routes (`/v1/hub/...`) instead of the hub.
#[derive(Clone, Copy)]
enum Feed {
    /// A proxy's 502 error page.
    BadGateway,
    /// A 200 answer that is not the feed.
    Undecodable,
    /// 404: the routes are not there, as at a hub older than the shop roster.
    Absent,
    /// The feed is the hub's, but the store's decisions route answers a 502 page.
    DecisionsBadGateway,
}

#[derive(Clone)]
struct Proxy {
    hub: String,
    feed: Feed,
    http: reqwest::Client,
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path().ends_with("/decisions") && matches!(p.feed, Feed::DecisionsBadGateway) {
        return (
            StatusCode::BAD_GATEWAY,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response();
    }
    if uri.path().starts_with("/v1/hub/") && !matches!(p.feed, Feed::DecisionsBadGateway) {
        return match p.feed {
            Feed::BadGateway => (
                StatusCode::BAD_GATEWAY,
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response(),
            Feed::Undecodable => "{\"nope\": 1}".into_response(),
            Feed::Absent => StatusCode::NOT_FOUND.into_response(),
            Feed::DecisionsBadGateway => unreachable!("forwarded above"),
        };
    }
    let mut req = p
        .http
        .request(method, format!("{}{}", p.hub, uri))
        .body(body);
    for (k, v) in &headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.expect("the hub answers the proxy");
    let status = resp.status();
    let ctype = resp.headers().get("content-type").cloned();
    let bytes = resp.bytes().await.unwrap();
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    if let Some(c) = ctype {
        out.headers_mut().insert("content-type", c);
    }
    out
}

/// The state the bench's sync task settles on behind a proxy answering `feed`.
async fn state_behind(feed: Feed) -> Option<SyncState> {
    let admin = pg_admin_url()?;
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-A").await;
    let app = Router::new().fallback(forward).with_state(Proxy {
        hub: format!("http://{}", hub.addr),
        feed,
        http: reqwest::Client::new(),
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    logins(&store, "T100", 3);
    let mut rx = traveler::hub::sync::spawn_with(store, config(addr, &token), fast());
    let s = wait_state(&mut rx, "an answer", |s| {
        !matches!(s, SyncState::Connecting | SyncState::Behind { .. })
    })
    .await;
    drop(hub);
    Some(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_error_page_on_the_feed_is_shown_not_synced() {
    let Some(s) = state_behind(Feed::BadGateway).await else {
        return;
    };
    match &s {
        SyncState::FeedBroken { reason } => assert!(reason.contains("502"), "{reason}"),
        other => panic!("a broken feed shown as {other:?}"),
    }
    assert!(s.is_alarm());
    assert!(
        s.header_text().starts_with("hub: NOT FOLLOWING"),
        "{}",
        s.header_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_feed_is_shown_not_synced() {
    let Some(s) = state_behind(Feed::Undecodable).await else {
        return;
    };
    assert!(matches!(s, SyncState::FeedBroken { .. }), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_without_the_feed_is_an_older_hub() {
    let Some(s) = state_behind(Feed::Absent).await else {
        return;
    };
    assert_eq!(s, SyncState::Synced { head: 3 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_error_page_on_the_decisions_is_shown_not_synced() {
    let Some(s) = state_behind(Feed::DecisionsBadGateway).await else {
        return;
    };
    // Decisions the bench cannot read are not "none to mirror".
    match &s {
        SyncState::Offline { reason, .. } => assert!(reason.contains("502"), "{reason}"),
        other => panic!("unreadable decisions shown as {other:?}"),
    }
}
