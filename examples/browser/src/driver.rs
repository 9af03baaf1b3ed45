//! chromedriver and headless Chromium: starting them on a free port with a fresh profile,
//! stopping them (also when a test panics), and a WebDriver session whose waits are bounded and
//! fail with the page's URL and source.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use url::Url;

/// How long a wait for an element or a URL may take.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long chromedriver may take to listen, and Chromium to start a session.
const START: Duration = Duration::from_secs(30);
/// How often a wait for a URL, or for chromedriver to listen or exit, checks again.
const POLL: Duration = Duration::from_millis(50);

/// Chromium's flags. Without the background-networking ones it keeps trying to reach Google
/// hosts, and fails noisily where there is no route to them.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,760",
];

const INSTALL_HINT: &str = "apt-get install chromium chromium-driver, or set \
     TOKENWARD_TEST_CHROMEDRIVER (and TOKENWARD_TEST_CHROMIUM)";

fn chromedriver_program() -> PathBuf {
    std::env::var_os("TOKENWARD_TEST_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from("chromedriver"), PathBuf::from)
}

/// The Chromium binary to give chromedriver; `None` lets chromedriver look for Chrome itself.
fn chromium_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TOKENWARD_TEST_CHROMIUM") {
        return Some(path.into());
    }
    let debian = PathBuf::from("/usr/bin/chromium");
    debian.exists().then_some(debian)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A chromedriver process of one test, in a process group of its own with the Chromium
/// processes it starts. Dropping it kills the whole group, then removes the profiles.
pub struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
    /// Its log, Chromium's profiles and temporary files (`TMPDIR`).
    dir: tempfile::TempDir,
    sessions: AtomicUsize,
    stopped: bool,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it answers.
    pub async fn start() -> Self {
        let mut dir = tempfile::tempdir().expect("temp dir");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).expect("temp dir for Chromium");
        let log_path = dir.path().join("chromedriver.log");
        // Another process can take the free port before chromedriver binds it: try again.
        for _ in 0..3 {
            let port = free_port();
            let log = fs::File::create(&log_path).expect("chromedriver log");
            let mut command = Command::new(chromedriver_program());
            command
                .arg(format!("--port={port}"))
                .env("TMPDIR", &tmp)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("chromedriver log"))
                .stderr(log);
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let child = match command.spawn() {
                Ok(child) => child,
                Err(e) => panic!(
                    "cannot run {}: {e} ({INSTALL_HINT})",
                    chromedriver_program().display()
                ),
            };
            let mut driver = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                dir,
                sessions: AtomicUsize::new(0),
                stopped: false,
            };
            match driver.wait_until_listening(port).await {
                Ok(()) => return driver,
                Err(status) => {
                    eprintln!(
                        "chromedriver on port {port} exited ({status}): {}",
                        driver.log()
                    );
                    // Dropping `driver` would remove the directory; take it back first.
                    dir = driver.take_dir();
                }
            }
        }
        panic!("chromedriver did not start: {}", read_log(&log_path));
    }

    /// Polls the port until chromedriver accepts connections; its exit status if it exits.
    async fn wait_until_listening(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + START;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(status.to_string());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within {START:?}: {}",
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn take_dir(mut self) -> tempfile::TempDir {
        self.stop();
        let replacement = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, replacement)
    }

    /// What chromedriver (and Chromium through it) logged so far.
    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("chromedriver.log"))
    }

    /// A new WebDriver session: a Chromium process with a fresh, empty profile (no cookies).
    pub async fn session(&self) -> Browser {
        let n = self.sessions.fetch_add(1, Ordering::Relaxed);
        let profile = self.dir.path().join(format!("profile-{n}"));
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut options = serde_json::json!({ "args": args });
        if let Some(binary) = chromium_binary() {
            options["binary"] = binary.display().to_string().into();
        }
        let serde_json::Value::Object(capabilities) = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "timeouts": { "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
        }) else {
            unreachable!("a JSON object")
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = match tokio::time::timeout(START, builder.connect(&self.url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "chromedriver could not start Chromium ({INSTALL_HINT}): {e}\nchromedriver log:\n{}",
                self.log()
            ),
            Err(_) => panic!(
                "no WebDriver session within {START:?}\nchromedriver log:\n{}",
                self.log()
            ),
        };
        Browser { client }
    }

    /// Kills chromedriver and every Chromium process in its group, and waits for chromedriver.
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        #[cfg(unix)]
        {
            use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};
            // Its own process group (`process_group(0)`): its id is chromedriver's pid, which
            // is not reused while any process of the group is alive.
            let group = Pid::from_child(&self.child);
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = kill_process_group(group, Signal::TERM);
                let deadline = Instant::now() + Duration::from_secs(5);
                while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                    std::thread::sleep(POLL);
                }
            }
            // Chromium's processes may outlive chromedriver: nothing of the group survives.
            let _ = kill_process_group(group, Signal::KILL);
            let _ = self.child.wait();
            // Wait (bounded) until they are gone, so none writes into the profile being removed.
            let deadline = Instant::now() + Duration::from_secs(5);
            while test_kill_process_group(group).is_ok() && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_log(path: &std::path::Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

/// One WebDriver session (one Chromium with its own profile). Every helper waits at most
/// [`WAIT`] and panics with the current URL and page source when something is not there.
pub struct Browser {
    client: Client,
}

impl Browser {
    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where the browser is now, and the page it shows, for failure messages.
    pub async fn describe(&self) -> String {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(no URL: {e})"),
        };
        let source = match self.client.source().await {
            Ok(source) => source,
            Err(e) => format!("(no source: {e})"),
        };
        format!("at {url}\n--- page source ---\n{source}\n--- end of page source ---")
    }

    async fn fail(&self, what: &str, error: &CmdError) -> ! {
        panic!("{what}: {error}\n{}", self.describe().await)
    }

    /// Opens `url` and waits for the page (after any redirects) to load.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            self.fail(&format!("opening {url}"), &e).await
        }
    }

    /// The current URL.
    pub async fn url(&self) -> Url {
        match self.client.current_url().await {
            Ok(url) => url,
            Err(e) => self.fail("reading the current URL", &e).await,
        }
    }

    /// Waits for an element matching `css`.
    pub async fn element(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                self.fail(&format!("waiting (at most {WAIT:?}) for {css:?}"), &e)
                    .await
            }
        }
    }

    /// Panics if an element matches `css` now.
    pub async fn assert_absent(&self, css: &str) {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(found) if found.is_empty() => {}
            Ok(_) => panic!(
                "{css:?} should not be on the page\n{}",
                self.describe().await
            ),
            Err(e) => self.fail(&format!("looking for {css:?}"), &e).await,
        }
    }

    /// Waits for `css` and returns its rendered text.
    pub async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        match element.text().await {
            Ok(text) => text,
            Err(e) => self.fail(&format!("reading the text of {css:?}"), &e).await,
        }
    }

    /// Waits for the form field `css` and returns its current value.
    pub async fn value(&self, css: &str) -> String {
        let element = self.element(css).await;
        match element.prop("value").await {
            Ok(value) => value.unwrap_or_default(),
            Err(e) => {
                self.fail(&format!("reading the value of {css:?}"), &e)
                    .await
            }
        }
    }

    /// Waits for `css` and clicks it.
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        if let Err(e) = element.click().await {
            self.fail(&format!("clicking {css:?}"), &e).await
        }
    }

    /// Waits for the field `css`, empties it and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        if let Err(e) = element.clear().await {
            self.fail(&format!("clearing {css:?}"), &e).await
        }
        if let Err(e) = element.send_keys(text).await {
            self.fail(&format!("typing into {css:?}"), &e).await
        }
    }

    /// Waits (at most [`WAIT`]) until the current URL satisfies `test`, and returns it.
    pub async fn wait_for_url(&self, what: &str, test: impl Fn(&Url) -> bool) -> Url {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if test(&url) {
                return url;
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {WAIT:?} for {what}; still {url}\n{}",
                    self.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => self.fail("taking a screenshot", &e).await,
        }
    }

    /// Ends the session: chromedriver closes this Chromium.
    pub async fn close(self) {
        if let Err(e) = self.client.close().await {
            panic!("closing the WebDriver session: {e}");
        }
    }
}
