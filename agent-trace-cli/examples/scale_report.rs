//! How the command and the viewer's API answer on a big store: 100,000 sessions of 10 events
//! (1,000,000 events) and one of 10,000 events. Builds the store once under
//! `target/scale-report/` (reused), then times, as medians of 7 runs in this process:
//! the query behind `agent-trace ls --limit 50` and the sessions page's first page, a page
//! deep in the list, a filtered page, the read behind `show` and the session page's API of
//! the 10,000-event session, its tree as `show` prints it, and that API's JSON. With
//! `chromedriver` on the `PATH` and the binary built (`cargo build --release -p
//! agent-trace-cli`), it also opens that session's page in headless Chromium and times how
//! long until all 10,000 rows are drawn, and a click on the last one shows its values.
//!
//! ```sh
//! cargo build --release -p agent-trace-cli
//! cargo run --release -p agent-trace-cli --example scale_report
//! ```
//!
//! Results: `docs/performance.md`, "A big store".

#[path = "../tests/support/webdriver.rs"]
#[allow(dead_code)]
mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_trace::{Event, EventKind, Outcome, SessionStatus, SessionTracer, SqliteSink, TraceFilter, TraceStore};

const SESSIONS: usize = 100_000;
const EVENTS: usize = 10;
const BIG: usize = 10_000;
const BIG_ID: &str = "big-session";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/scale-report");
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("traces.db");
    if !db.exists() {
        build(&db)?;
    }
    let store = TraceStore::open(&db)?;
    println!("{} sessions in {}", store.count()?, db.display());
    let first_page = TraceFilter {
        limit: Some(50),
        ..TraceFilter::default()
    };
    report("ls --limit 50 (the first page)", || {
        store.list(&first_page).map(|page| page.len())
    });
    let deep = TraceFilter {
        limit: Some(50),
        offset: Some(50_000),
        ..TraceFilter::default()
    };
    report("a page 50,000 sessions down", || {
        store.list(&deep).map(|page| page.len())
    });
    let failed = TraceFilter {
        status: Some(SessionStatus::Error),
        limit: Some(50),
        ..TraceFilter::default()
    };
    report("--status error --limit 50", || {
        store.list(&failed).map(|page| page.len())
    });
    report("get the 10,000-event session", || {
        store.get(BIG_ID).map(|trace| trace.map_or(0, |t| t.events.len()))
    });
    let Some(big) = store.get(BIG_ID)? else {
        return Err("the big session is missing".into());
    };
    report("its tree, as show prints it", || {
        Ok::<_, std::io::Error>(big.display_tree().to_string().len())
    });
    report("its JSON, as the session page's API sends it", || {
        serde_json::to_string(&big).map(|json| json.len())
    });
    println!(
        "(the tree is {} KB, the JSON {} KB)",
        big.display_tree().to_string().len() / 1024,
        serde_json::to_string(&big)?.len() / 1024
    );
    in_the_browser(&db)
}

/// The 10,000-event session's page in headless Chromium, when there is one to drive.
fn in_the_browser(db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/agent-trace");
    let driver = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|path| path.is_file())
    });
    let (true, Some(driver)) = (binary.is_file(), driver) else {
        println!("(the page in a browser: needs chromedriver on the PATH and target/release/agent-trace)");
        return Ok(());
    };
    let mut server = Command::new(&binary)
        .arg("serve")
        .arg(db)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().ok_or("no output")?).read_line(&mut line)?;
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut chromedriver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let driver_url = format!("http://127.0.0.1:{port}");
    while reqwest::blocking::get(format!("{driver_url}/status")).is_err() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let browser = webdriver::Browser::start(&driver_url);
    let mut drawn = Vec::new();
    let mut clicked = Vec::new();
    for _ in 0..5 {
        browser.go(&format!("{url}/"));
        let start = Instant::now();
        browser.go(&format!("{url}/sessions/{BIG_ID}"));
        // Counted in the page: asking the driver for 10,000 elements would cost more.
        while browser.run("return document.querySelectorAll('tr.event').length") != BIG {
            std::thread::sleep(Duration::from_millis(5));
        }
        drawn.push(start.elapsed());
        let last = browser.wait_for("tr.event:last-child", 1).remove(0);
        let start = Instant::now();
        browser.click(&last);
        browser.wait_for("pre.value.inputs", 1);
        clicked.push(start.elapsed());
    }
    drawn.sort();
    clicked.sort();
    println!(
        "{:50} {:>10.2} ms (fastest {:.2} ms)",
        "the 10,000-event session's page, to its last row",
        drawn[2].as_secs_f64() * 1e3,
        drawn[0].as_secs_f64() * 1e3
    );
    println!(
        "{:50} {:>10.2} ms (fastest {:.2} ms)",
        "a click on its last row, to its values",
        clicked[2].as_secs_f64() * 1e3,
        clicked[0].as_secs_f64() * 1e3
    );
    drop(browser);
    let _ = chromedriver.kill();
    let _ = server.kill();
    Ok(())
}

/// Times `work` seven times; prints the median.
fn report<T, E: std::fmt::Debug>(what: &str, mut work: impl FnMut() -> Result<T, E>) {
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let _ = work().map_err(|error| panic!("{what}: {error:?}"));
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{what:50} {:>10.2} ms (fastest {:.2} ms)",
        times[3].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}

fn build(db: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let tracer = SessionTracer::builder().sink(SqliteSink::open(db)?).build();
    let record = |session: &agent_trace::Session, index: usize| {
        let kind = [EventKind::Agent, EventKind::Llm, EventKind::Tool][index % 3].clone();
        let mut event = Event::builder(kind, "agent", format!("step_{}", index % 7))
            .input("turn", index)
            .output(format!("answer {index}"))
            .metadata("gen_ai.usage.input_tokens", 30)
            .metadata("gen_ai.usage.output_tokens", 8);
        if index.is_multiple_of(97) {
            event = event
                .outcome(Outcome::Err)
                .error(agent_trace::ErrorRecord::new("tool", "failed"));
        }
        session.record_event(event)
    };
    for number in 0..SESSIONS {
        let session = tracer.start_session();
        session.set_metadata("user.id", format!("user-{}", number % 50));
        for index in 0..EVENTS {
            record(&session, number * EVENTS + index)?;
        }
        session.end()?;
    }
    let session = tracer.start_session_with_id(BIG_ID);
    for index in 0..BIG {
        record(&session, index)?;
    }
    session.end()?;
    tracer.flush()?;
    println!("built {} in {:.1} s", db.display(), started.elapsed().as_secs_f64());
    Ok(())
}
