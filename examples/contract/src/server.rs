//! Starting a server binary on a free port, and a private redis-server to stop and restart.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a server may take to print its address (the first start hashes a demo password
/// and may generate keys).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server process; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Everything it printed on stdout so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Every line it logged on stderr so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

/// How a server process ended when it did not start.
#[derive(Debug)]
pub struct Exit {
    /// Its exit status, if it exited by itself.
    pub code: Option<i32>,
    /// What it printed on stderr.
    pub stderr: String,
}

fn command(bin: &Path, args: &[String]) -> Command {
    let mut command = Command::new(bin);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("TOKENWARD_") {
            command.env_remove(key);
        }
    }
    command
}

impl Server {
    /// Starts `bin` with `args` plus `--bind 127.0.0.1:0`, and waits for its address.
    pub async fn start(bin: &Path, args: &[String]) -> Server {
        match Self::try_start(bin, args).await {
            Ok(server) => server,
            Err(exit) => panic!("server did not start: {exit:?}"),
        }
    }

    /// Like [`Server::start`], but returns how the process ended if it exits instead.
    pub async fn try_start(bin: &Path, args: &[String]) -> Result<Server, Exit> {
        let mut args = args.to_vec();
        args.extend(["--bind".into(), "127.0.0.1:0".into()]);
        let mut child = command(bin, &args).spawn().expect("spawn server binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stdout).lines();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let base = loop {
            match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    printed.lock().unwrap().push(line.clone());
                    if let Some(address) = line.strip_prefix("listening on ") {
                        break address.trim().to_owned();
                    }
                }
                Ok(Ok(None)) | Ok(Err(_)) => {
                    let mut text = String::new();
                    let _ = stderr.read_to_string(&mut text).await;
                    let status = child.wait().await.ok();
                    return Err(Exit {
                        code: status.and_then(|s| s.code()),
                        stderr: text,
                    });
                }
                Err(_) => panic!("server printed no address within {START_TIMEOUT:?}"),
            }
        };
        // Keep draining both pipes so the server never blocks on a full one.
        let sink = printed.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let logged = Arc::new(Mutex::new(Vec::new()));
        let log_sink = logged.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                log_sink.lock().unwrap().push(line);
            }
        });
        Ok(Server {
            child,
            base,
            stdout: printed,
            stderr: logged,
        })
    }

    /// Runs `bin` with `args` expecting it to refuse to start; returns how it exited.
    pub async fn refused(bin: &Path, args: &[String]) -> Exit {
        match Self::try_start(bin, args).await {
            Ok(server) => panic!("server started at {} but should have refused", server.base),
            Err(exit) => exit,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The demo user's password, if the server printed one.
    pub fn demo_password(&self) -> Option<String> {
        let printed = self.stdout.lock().unwrap();
        printed.iter().find_map(|line| {
            let rest = line.strip_prefix("created user johndoe with password ")?;
            rest.split_whitespace().next().map(str::to_owned)
        })
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id()?;
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .ok()?
            .ok()?;
        status.code()
    }
}

/// A directory for one test's database, key file and users file.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    /// A fresh directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sqlite://` URL of its database.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.path("tokenward.db").display())
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Self::new()
    }
}

/// A redis-server of the test's own, on a free port, that the test can stop and restart.
pub struct PrivateRedis {
    child: Option<std::process::Child>,
    port: u16,
}

impl PrivateRedis {
    /// Starts one on a free port; `None` if `redis-server` is not installed.
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut redis = Self { child: None, port };
        redis.restart().then_some(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (an outage).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `FLUSHALL` through `redis-cli`; `false` if that failed.
    pub fn flush_all(&self) -> bool {
        std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "FLUSHALL"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Starts it again on the same port (empty: it keeps nothing); `false` if it did not come up.
    pub fn restart(&mut self) -> bool {
        self.stop();
        let Ok(child) = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
