//! A real headless Chromium over WebDriver: one `chromedriver` per test binary,
//! one browser session per [`Browser`]. Without Chromium the browser tests say they
//! were skipped; with `BREACHLINE_REQUIRE_BROWSER=1` (set by `.ci/run`) a missing
//! browser fails them instead.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The variable that turns a missing browser into a failure.
pub const REQUIRE_ENV: &str = "BREACHLINE_REQUIRE_BROWSER";

struct Driver {
    url: String,
}

static DRIVER: OnceLock<Option<Driver>> = OnceLock::new();

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Starts chromedriver once; a shell beside it ends it when this test process exits.
fn driver() -> Option<&'static Driver> {
    DRIVER
        .get_or_init(|| {
            let chromedriver = find(&["chromedriver"])?;
            find(&["chromium", "chromium-browser", "google-chrome"])?;
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let script = format!(
                "{} --port={port} --log-level=SEVERE >/dev/null 2>&1 & cd=$!; \
                 while kill -0 {} 2>/dev/null; do sleep 1; done; kill $cd",
                chromedriver.display(),
                std::process::id()
            );
            Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .spawn()
                .ok()?;
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Driver {
                        url: format!("http://127.0.0.1:{port}"),
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            None
        })
        .as_ref()
}

/// One browser window (its own profile and cookies).
pub struct Browser {
    pub client: Client,
    pub base: String,
    shots: PathBuf,
}

impl Browser {
    /// A new headless Chromium asking for `accept_language`, or `None` (test skipped)
    /// when no browser is installed and none is required.
    pub async fn start(base: &str, test: &str, accept_language: &str) -> Option<Browser> {
        let Some(driver) = driver() else {
            assert!(
                std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
                "{REQUIRE_ENV}=1 but chromium/chromedriver are not installed \
                 (apt-get install chromium chromium-driver)"
            );
            // Straight to stderr: the test harness captures eprintln! of passing tests,
            // and a skip must be seen in a plain `cargo test`.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED browser test {test}: no chromium/chromedriver on PATH \
                 (apt-get install chromium chromium-driver; {REQUIRE_ENV}=1 makes this a failure)"
            );
            return None;
        };
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1800", format!("--lang={accept_language}"),
                         format!("--accept-lang={accept_language}")],
                "prefs": { "intl.accept_languages": accept_language },
            }),
        );
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a chromium session");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("ui-screenshots")
            .join(test);
        std::fs::create_dir_all(&shots).unwrap();
        Some(Browser {
            client,
            base: base.to_owned(),
            shots,
        })
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
    }

    pub async fn text(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    pub async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.css(selector).await.attr(name).await.unwrap()
    }

    pub async fn fill(&self, selector: &str, value: &str) {
        let el = self.css(selector).await;
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    /// Sets an input's value by script (date-time inputs take keys per locale).
    pub async fn set_value(&self, selector: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(selector), json!(value)],
            )
            .await
            .unwrap();
    }

    pub async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.unwrap();
    }

    /// Clicks something that loads a new page (a submit button, a link) and waits
    /// until the old page is gone, so the next lookup cannot find a stale element.
    pub async fn submit(&self, selector: &str) {
        let old = self.css("html").await;
        self.click(selector).await;
        for _ in 0..100 {
            if old.tag_name().await.is_err() {
                self.css("body").await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {selector} loaded no new page");
    }

    pub async fn select(&self, selector: &str, value: &str) {
        self.css(selector)
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }

    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, vec![]).await.unwrap()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Saves a PNG of the window under the test's output directory.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Signs in through the form.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.goto("/sign-in").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.submit("form:not(.sign-out) button[type=submit]").await;
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
