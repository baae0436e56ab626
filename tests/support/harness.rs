//! Test harness: one moto server per test process on a free 127.0.0.1 port, the standard
//! AWS_ENDPOINT_URL + dummy credentials pointing every SDK client at it, and an optional
//! counting / fault-injecting proxy (tests/support/aws_proxy.py) in front of it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";

/// Helper processes (with their stdin pipes open); they exit when the test process does and
/// the pipes close.
static KEEP_ALIVE: Mutex<Vec<Child>> = Mutex::new(Vec::new());
static MOTO: OnceLock<String> = OnceLock::new();

/// The repository root (this crate lives in `tests/support`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tool(name: &str) -> PathBuf {
    let venv = repo_root().join(".venv/bin").join(name);
    if venv.exists() {
        venv
    } else {
        PathBuf::from(name)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Sends a small HTTP request and returns the response body.
pub fn http_request(endpoint: &str, method: &str, path: &str, body: &str) -> String {
    let addr = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// The moto endpoint, starting moto on first use and pointing the SDK environment at it. With
/// `ECS_INBOUND_GUARD_MOTO` set (`http://127.0.0.1:PORT`), a moto server started elsewhere is
/// used instead (`scripts/local-invoke.sh` builds its world in a server that outlives it).
pub fn moto() -> &'static str {
    MOTO.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("ECS_INBOUND_GUARD_MOTO") {
            for (k, v) in sdk_env(&endpoint) {
                std::env::set_var(k, v);
            }
            return endpoint;
        }
        let port = free_port();
        let log = std::env::temp_dir().join(format!("moto-{port}.log"));
        // moto with the EC2 actions it lacks and the checks read (`moto_server.py`).
        let bin = tool("python3");
        let script = repo_root().join("tests/support/moto_server.py");
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$3" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & pid=$!; read line; kill $pid"#)
            .arg(&bin)
            .arg(port.to_string())
            .arg(&log)
            .arg(&script)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (run the README's test command)",
                    bin.display()
                )
            });
        KEEP_ALIVE.lock().unwrap().push(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while http_get(port, "/moto-api/").is_none_or(|r| !r.starts_with("HTTP/1")) {
            assert!(
                Instant::now() < deadline,
                "moto did not start; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        for (k, v) in sdk_env(&endpoint) {
            std::env::set_var(k, v);
        }
        endpoint
    })
}

/// The environment that points an SDK (in-process or a child process) at `endpoint`.
pub fn sdk_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// A counting, fault-injecting proxy in front of moto (its own process, per test).
pub struct Proxy {
    pub endpoint: String,
}

impl Proxy {
    pub fn start() -> Proxy {
        let upstream = moto();
        let script = repo_root().join("tests/support/aws_proxy.py");
        let mut child = Command::new(tool("python3"))
            .arg(script)
            .args(["--upstream", upstream, "--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start aws_proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("proxy port");
        KEEP_ALIVE.lock().unwrap().push(child);
        Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Injects AWS errors: `[{"action","status","code","times"}]`.
    pub fn faults(&self, faults: serde_json::Value) {
        http_request(
            &self.endpoint,
            "POST",
            "/__proxy/faults",
            &faults.to_string(),
        );
    }

    /// Requests counted per action.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&http_request(&self.endpoint, "GET", "/__proxy/stats", "")).unwrap()
    }
}

/// Runs the CLI with a standard output whose reader has already gone (`… | head -c0`):
/// (exit code, stderr).
pub fn run_cli_into_closed_pipe(endpoint: &str, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(crate::binary("ecs-inbound-guard"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in sdk_env(endpoint) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run cli");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the CLI binary with the SDK pointed at `endpoint`; returns (exit code, stdout, stderr).
pub fn run_cli(endpoint: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(crate::binary("ecs-inbound-guard"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in sdk_env(endpoint) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run cli");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
