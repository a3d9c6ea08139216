//! The few W3C WebDriver commands the browser test needs, spoken to `chromedriver` over
//! HTTP: open a session, go to a page, find elements, read their text, click, run a
//! script, take a screenshot, read the console.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key WebDriver gives an element's id under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::blocking::Client,
    base: String,
}

/// An element of the page.
pub struct Element(String);

impl Browser {
    /// A headless Chromium, through the chromedriver at `driver` (`http://127.0.0.1:9515`).
    pub fn start(driver: &str) -> Browser {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let answer = send(
            &http,
            reqwest::Method::POST,
            &format!("{driver}/session"),
            Some(capabilities),
        );
        let id = answer["value"]["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        Browser {
            http,
            base: format!("{driver}/session/{id}"),
        }
    }

    fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        send(&self.http, method, &format!("{}{path}", self.base), body)["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    /// The elements `css` finds once there are at least `at_least` (within 10 s).
    pub fn wait_for(&self, css: &str, at_least: usize) -> Vec<Element> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.find_all(css);
            if found.len() >= at_least {
                return found;
            }
            if Instant::now() > deadline {
                let page = self.run("return location.href + '\\n' + document.body.innerText");
                panic!(
                    "{css}: {} found, {at_least} wanted; the page:\n{}",
                    found.len(),
                    page.as_str().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self.command(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|id| Element(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn text(&self, element: &Element) -> String {
        let text = self.command(reqwest::Method::GET, &format!("/element/{}/text", element.0), None);
        text.as_str().unwrap_or_default().to_owned()
    }

    pub fn click(&self, element: &Element) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        );
    }

    /// Runs `script` in the page; what it returns.
    pub fn run(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Writes a PNG of the window to `path`.
    pub fn screenshot(&self, path: &std::path::Path) {
        let encoded = self.command(reqwest::Method::GET, "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        std::fs::write(path, png).unwrap();
    }

    /// The console messages of level SEVERE (errors, refused loads, policy violations)
    /// logged since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        let logs = self.command(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"})));
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|entry| entry["level"] == "SEVERE")
                    .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of the alert the page opened, if it opened one.
    pub fn alert(&self) -> Option<String> {
        let response = self.http.get(format!("{}/alert/text", self.base)).send().unwrap();
        let body: Value = serde_json::from_str(&response.text().unwrap_or_default()).unwrap_or_default();
        body["value"].as_str().map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.base).send();
    }
}

fn send(http: &reqwest::blocking::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().unwrap_or_else(|error| panic!("{url}: {error}"));
    let status = response.status();
    let text = response.text().unwrap_or_default();
    assert!(status.is_success(), "{url}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or_default()
}
