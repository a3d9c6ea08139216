//! The web viewer in a real browser: headless Chromium, driven over WebDriver, against
//! `agent-trace serve` on loopback over a store filled by the example agent. The list shows
//! the sessions, a session page its tree with the right event count, clicking an event
//! shows its inputs, the diff page names a known difference, the graph renders, nothing
//! is logged as an error, and a captured `<script>` shows as text without running.
//! Screenshots of each page go under `target/viewer-screenshots/`.
//!
//! `.ci/run` installs Debian's `chromium` and `chromium-driver`. Outside CI the test is
//! skipped, with a message, when `chromedriver` is not on the `PATH`; in CI (`CI` set) it
//! fails instead.

#[path = "../../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
#[path = "support/webdriver.rs"]
mod webdriver;
#[path = "../../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agent_trace::{Node, SessionTracer, SqliteSink, TracerContext, bundle, node_named, parameter, trace_tool_call};
use webdriver::Browser;

/// What a prompt injection in a captured value would try.
const HOSTILE: &str = "<script>window.__pwned = 1; alert('pwned')</script><img src=x onerror=\"window.__pwned = 2\">";

#[trace_tool_call(tool = "fetch_page")]
fn fetch_page(url: &str) -> String {
    format!("fetched {}", url.len())
}

#[bundle(trainable, description = "Greets with the template.")]
fn greet(name: Node<String>, template: &Node<String>) -> String {
    template.value().replace("{name}", name.value())
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn chromedriver() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is not on the PATH: in CI, .ci/run installs chromium and chromium-driver"
        );
        eprintln!("skipped: no chromedriver on the PATH (apt-get install chromium chromium-driver, or run .ci/run)");
    }
    found
}

/// Two episodes of the example agent (the second with a failing tool), a session that
/// captured hostile markup, and one with a `#[bundle]` graph. Returns the store and the
/// ids, in that order.
fn fill(db: &Path) -> Vec<String> {
    let tracer = SessionTracer::builder().sink(SqliteSink::open(db).unwrap()).build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for (seed, faults) in [(7, false), (8, true)] {
        let session = tracer.start_session();
        session.set_metadata("seed", seed);
        let mut config = agent::EpisodeConfig::new(seed, 6);
        if faults {
            config.faults.tool_error_turn = Some(1);
        }
        runtime
            .block_on(TracerContext::new(&session).try_scope(agent::run_episode(&config)))
            .unwrap();
        ids.push(session.id().to_owned());
        session.end().unwrap();
    }
    let hostile = tracer.start_session();
    TracerContext::new(&hostile).sync_scope(|| fetch_page(HOSTILE));
    ids.push(hostile.id().to_owned());
    hostile.end().unwrap();
    let graph = tracer.start_session();
    TracerContext::new(&graph).sync_scope(|| {
        let template = parameter("template", "Hello, {name}!".to_owned());
        greet(node_named("name", "Ada".to_owned()), &template)
    });
    ids.push(graph.id().to_owned());
    graph.end().unwrap();
    tracer.flush().unwrap();
    ids
}

/// `agent-trace serve` on a free port; its address.
fn serve(db: &Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent-trace"))
        .arg("serve")
        .arg(db)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().trim_end_matches('/').to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (Running(child), url)
}

fn start_chromedriver(path: &Path) -> (Running, String) {
    let port = free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::blocking::get(format!("{url}/status")).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Running(child), url)
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("viewer-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_viewer_in_a_real_browser() {
    let Some(driver_path) = chromedriver() else { return };
    let dir = std::env::temp_dir().join(format!("agent-trace-viewer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("traces.db");
    let ids = fill(&db);
    let store = agent_trace::TraceStore::open(&db).unwrap();
    let (_server, url) = serve(&db);
    let (_driver, driver) = start_chromedriver(&driver_path);
    let browser = Browser::start(&driver);
    let shots = screenshots();

    // The console is read: a probe logged as an error comes back (and the log is emptied).
    browser.go(&format!("{url}/"));
    browser.run("console.error('probe of the console')");
    let probe = browser.console_errors();
    assert!(
        probe.iter().any(|line| line.contains("probe of the console")),
        "{probe:?}"
    );

    // The list: a row per session.
    browser.go(&format!("{url}/"));
    let rows = browser.wait_for("tr.session-row", ids.len());
    assert_eq!(rows.len(), ids.len());
    browser.screenshot(&shots.join("sessions.png"));

    // A session: a row per event, and the count in the totals; a click shows the inputs.
    let episode = store.get(&ids[1]).unwrap().unwrap();
    browser.go(&format!("{url}/sessions/{}", &ids[1][..8]));
    let events = browser.wait_for("tr.event", episode.events.len());
    assert_eq!(events.len(), episode.events.len());
    let shown_count = browser.text(&browser.wait_for(".event-count", 1)[0]);
    assert_eq!(shown_count, episode.events.len().to_string());
    assert!(
        !browser.find_all("tr.event.failed").is_empty(),
        "the failed tool call is marked"
    );
    let llm = episode.events.iter().position(|e| e.name == "complete").unwrap();
    let llm_row = browser.wait_for("tr.event[data-kind=llm]", 1).remove(0);
    assert!(
        browser.text(&llm_row).contains("llm complete"),
        "{}",
        browser.text(&llm_row)
    );
    browser.click(&llm_row);
    let inputs = browser.text(&browser.wait_for("pre.value.inputs", 1)[0]);
    let prompt = episode.events[llm].inputs["prompt"].as_str().unwrap();
    assert!(inputs.contains(&prompt[..40]), "{inputs}");
    browser.screenshot(&shots.join("session.png"));

    // A diff of the two episodes names a known difference: the reset's seed.
    browser.go(&format!("{url}/diff?a={}&b={}", ids[0], ids[1]));
    let differences = browser.wait_for("tr.difference", 1);
    let texts: Vec<String> = differences.iter().map(|row| browser.text(row)).collect();
    assert!(
        texts
            .iter()
            .any(|text| text.contains("environment reset") && text.contains("inputs.seed")),
        "{texts:#?}"
    );
    browser.screenshot(&shots.join("diff.png"));

    // The graph renders as an image.
    browser.go(&format!("{url}/sessions/{}/graph", ids[3]));
    browser.wait_for(".graph img", 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.run("return document.querySelector('.graph img').naturalWidth") == 0 {
        assert!(Instant::now() < deadline, "the graph's SVG did not load");
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.screenshot(&shots.join("graph.png"));

    // Hostile markup captured as an argument shows as text and runs nothing.
    browser.go(&format!("{url}/sessions/{}", ids[2]));
    let row = browser.wait_for("tr.event", 1).remove(0);
    browser.click(&row);
    let shown = browser.text(&browser.wait_for("pre.value.inputs", 1)[0]);
    assert!(shown.contains("<script>window.__pwned = 1;"), "{shown}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(browser.alert(), None, "no alert opened");
    assert_eq!(
        browser.run("return window.__pwned === undefined"),
        true,
        "no captured script ran"
    );
    assert_eq!(
        browser.run("return document.querySelectorAll('main script, main img').length"),
        0
    );

    let errors = browser.console_errors();
    assert!(errors.is_empty(), "the console has errors: {errors:#?}");
    drop(browser);
    let _ = std::fs::remove_dir_all(&dir);
}
