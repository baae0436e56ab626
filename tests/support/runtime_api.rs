//! A minimal local Lambda Runtime API (the HTTP interface `lambda_runtime` polls), so the real
//! Lambda binary runs as a process: events in through `/next`, results out through
//! `/response` and `/error`. It also timestamps the first `/next` (init time).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::sdk_env;

#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

pub struct RuntimeApi {
    pub addr: String,
    outcomes: Receiver<Outcome>,
    pub first_next: Arc<Mutex<Option<Instant>>>,
    events: Arc<Events>,
}

/// The queue of events `/next` hands out, waited on without polling.
#[derive(Default)]
struct Events {
    queue: Mutex<VecDeque<Vec<u8>>>,
    ready: Condvar,
}

struct Shared {
    events: Arc<Events>,
    outcomes: Mutex<Sender<Outcome>>,
    first_next: Arc<Mutex<Option<Instant>>>,
}

impl RuntimeApi {
    pub fn start(events: Vec<Value>) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = channel();
        let first_next = Arc::new(Mutex::new(None));
        let events = Arc::new(Events {
            queue: Mutex::new(events.iter().map(|e| e.to_string().into_bytes()).collect()),
            ready: Condvar::new(),
        });
        let shared = Arc::new(Shared {
            events: events.clone(),
            outcomes: Mutex::new(tx),
            first_next: first_next.clone(),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        RuntimeApi {
            addr,
            outcomes: rx,
            first_next,
            events,
        }
    }

    /// Queues one more event (the function's waiting `/next` gets it at once), so a test can
    /// hand out the next event only after it has looked at the previous outcome.
    pub fn push(&self, event: Value) {
        self.push_raw(event.to_string().into_bytes());
    }

    /// Queues a payload as raw bytes (which need not be JSON, nor UTF-8).
    pub fn push_raw(&self, payload: Vec<u8>) {
        self.events.queue.lock().unwrap().push_back(payload);
        self.events.ready.notify_all();
    }

    /// Process start → first `/next` request: the function's init time.
    pub fn init_duration(&self, process: &LambdaProcess) -> Option<Duration> {
        self.first_next
            .lock()
            .unwrap()
            .map(|t| t.duration_since(process.started))
    }

    /// The next outcome of `process`; a process that exits first (an init failure) fails the
    /// test with its error output.
    pub fn next_outcome_of(&self, process: &mut LambdaProcess) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(outcome) = self.outcomes.recv_timeout(Duration::from_millis(50)) {
                return outcome;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = process.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("the function exited during init ({status}): {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "the function produced no result in 60 s"
            );
        }
    }

    pub fn next_outcome(&self) -> Outcome {
        self.outcomes
            .recv_timeout(Duration::from_secs(60))
            .expect("the function produced no result in 60 s")
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    // Small writes must not wait for delayed ACKs (Nagle), or every call gains ~40 ms.
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let reply = |w: &mut TcpStream, status: &str, headers: &str, body: &str| {
            let _ = write!(w, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n{body}", body.len());
        };
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            shared
                .first_next
                .lock()
                .unwrap()
                .get_or_insert_with(Instant::now);
            let event = {
                let mut queue = shared.events.queue.lock().unwrap();
                loop {
                    match queue.pop_front() {
                        Some(e) => break e,
                        None => queue = shared.events.ready.wait(queue).unwrap(),
                    }
                }
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let id = crate::world::unique("req");
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:checker\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
            );
            let _ = write!(writer, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n", event.len());
            let _ = writer.write_all(&event);
        } else {
            let outcome = if path.ends_with("/response") {
                Outcome::Response(body)
            } else {
                Outcome::Error(body)
            };
            let _ = shared.outcomes.lock().unwrap().send(outcome);
            reply(&mut writer, "202 Accepted", "", "{}");
        }
    }
}

fn log_file(path: &std::path::Path) -> Stdio {
    std::fs::File::create(path)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

/// The Lambda binary running against a runtime API; killed on drop.
pub struct LambdaProcess {
    pub child: Child,
    pub started: Instant,
    /// Where the function's stdout (JSON logs, EMF lines) goes.
    pub log: std::path::PathBuf,
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn_lambda(
    api: &RuntimeApi,
    aws_endpoint: &str,
    topic_arn: Option<&str>,
) -> LambdaProcess {
    spawn_lambda_with(api, aws_endpoint, topic_arn, &[])
}

pub fn spawn_lambda_with(
    api: &RuntimeApi,
    aws_endpoint: &str,
    topic_arn: Option<&str>,
    extra_env: &[(&str, &str)],
) -> LambdaProcess {
    let log = std::env::temp_dir().join(format!("{}.log", crate::world::unique("lambda")));
    let mut cmd = Command::new(crate::binary("ecs-inbound-guard-lambda"));
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "checker")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/checker")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        // The function's JSON logs go to a file: an unread pipe would fill and stall it.
        .stdout(log_file(&log))
        .stderr(Stdio::piped());
    for (k, v) in sdk_env(aws_endpoint) {
        cmd.env(k, v);
    }
    if let Some(topic) = topic_arn {
        cmd.env("ALERT_TOPIC_ARN", topic);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    LambdaProcess {
        child: cmd.spawn().expect("spawn lambda"),
        started,
        log,
    }
}
