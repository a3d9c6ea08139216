//! `serve`: a local, read-only web viewer over the store — a sessions list, a session's
//! call tree beside its timeline, the diff of two sessions, the `#[bundle]` graph — and the
//! JSON API every page reads (`docs/viewer.md`). The assets are in the binary: it works
//! offline, with no build step.

mod api;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use agent_trace::TraceStore;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::cli::ServeArgs;
use crate::error::CliError;

/// What every request reads.
pub(crate) struct App {
    pub(crate) store: TraceStore,
}

const PAGE: &str = include_str!("assets/page.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");
const ICON: &str = include_str!("assets/icon.svg");

/// No script but ours, no style but ours, nothing from elsewhere: a captured value that
/// made its way into the page as markup could not run.
const SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) fn run(db: PathBuf, args: &ServeArgs) -> Result<(), CliError> {
    let db = args.db.clone().unwrap_or(db);
    let store = TraceStore::open(&db)?;
    let host: IpAddr = args
        .host
        .parse()
        .map_err(|error: std::net::AddrParseError| CliError::BadArgument {
            flag: "--host",
            value: args.host.clone(),
            reason: error.to_string(),
        })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(CliError::Output)?;
    runtime.block_on(async move {
        let address = SocketAddr::new(host, args.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|error| CliError::BadArgument {
                flag: "--port",
                value: args.port.to_string(),
                reason: format!("cannot listen on {address}: {error}"),
            })?;
        let bound = listener.local_addr().map_err(CliError::Output)?;
        println!("serving {} on http://{bound}/", db.display());
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let app = Arc::new(App { store });
        axum::serve(listener, router(app)).await.map_err(CliError::Output)
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/sessions/{id}", get(page))
        .route("/sessions/{id}/graph", get(page))
        .route("/diff", get(page))
        .route(
            "/assets/app.js",
            get(|| asset(SCRIPT, "text/javascript; charset=utf-8")),
        )
        .route("/assets/app.css", get(|| asset(STYLE, "text/css; charset=utf-8")))
        .route("/assets/icon.svg", get(|| asset(ICON, "image/svg+xml")))
        .route("/api/sessions", get(api::sessions))
        .route("/api/sessions/{id}", get(api::session))
        .route("/api/sessions/{id}/events/{event}", get(api::event))
        .route("/api/sessions/{id}/graph.svg", get(api::graph))
        .route("/api/diff", get(api::diff))
        .fallback(api::not_found)
        .with_state(app)
        .layer(axum::middleware::map_response(secure))
}

/// Every page is the same shell; the script draws the page its address names.
async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
