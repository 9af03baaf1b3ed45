//! The processes the soak starts, stops and restarts: the two server instances, a private
//! redis-server, and the PostgreSQL cluster (through psql and pg_ctlcluster), plus reading their
//! memory. Kept apart from the load so that every signal sent goes to a pid the driver started.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::config::RSS_EVERY;
use crate::load::Ctx;
use crate::records::RssSample;

/// A server instance started by the driver.
pub struct ServerProc {
    pub child: Child,
    pub base: String,
    pub pid: u32,
}

impl ServerProc {
    /// SIGTERM, then the exit status (`None` if it took over 20 s and was killed).
    pub async fn terminate(mut self) -> Option<i32> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        match status {
            Ok(Ok(st)) => st.code(),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

pub async fn start_server(bin: &Path, args: &[String], log: &Path) -> ServerProc {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .args(["--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(log).expect("server log file"),
        ))
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("TOKENWARD_") {
            cmd.env_remove(key);
        }
    }
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn");
    }
    let mut child = cmd.spawn().expect("spawn the server binary");
    let pid = child.id().expect("server pid");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let base = loop {
        match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                if let Some(address) = line.strip_prefix("listening on ") {
                    break address.trim().to_owned();
                }
            }
            other => {
                let status = child.try_wait().ok().flatten();
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("server did not start ({other:?}, exit {status:?}): {text}");
            }
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServerProc { child, base, pid }
}

/// The driver's own redis-server (no persistence), on a port of its own.
pub struct Redis {
    pub child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl Redis {
    pub async fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            ))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGTERM to our own redis-server's pid, and wait for it to exit.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

pub fn psql(sql: &str) -> bool {
    std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pg_version() -> String {
    if let Ok(v) = std::env::var("SOAK_PG_VERSION") {
        return v;
    }
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL cluster in /etc/postgresql")
}

pub async fn restart_postgres() -> bool {
    Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &pg_version(),
            "main",
            "restart",
        ])
        .stdout(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Drops the run's database if the driver ends before it could.
pub struct Cleanup {
    pub db: String,
    pub dropped: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.dropped {
            psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db));
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let mut text = String::new();
    std::fs::File::open(format!("/proc/{pid}/status"))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples both servers' resident memory every `RSS_EVERY` until the load stops.
pub async fn sample_rss(ctx: Arc<Ctx>, rss: Arc<Mutex<Vec<RssSample>>>, pids: [u32; 2]) {
    while !ctx.stop.load(Ordering::Relaxed) {
        rss.lock().unwrap().push((ctx.now(), pids.map(rss_kib)));
        tokio::time::sleep(RSS_EVERY).await;
    }
}
