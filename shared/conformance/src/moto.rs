//! A moto server (DynamoDB, Step Functions, EventBridge and SQS protocols) for tests: installed with pip if
//! missing, started on a free loopback port, and stopped when the test process exits.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    pub endpoint: String,
    pub port: u16,
    _guard: Mutex<Child>,
}

static SHARED: OnceLock<Moto> = OnceLock::new();

impl Moto {
    /// The server shared by every test of this process (tests isolate themselves by table prefix).
    pub fn shared() -> &'static Moto {
        SHARED.get_or_init(Moto::start)
    }

    /// Starts a new server. Panics with the reason if moto cannot be installed or does not come up.
    pub fn start() -> Moto {
        ensure_installed();
        let port = free_port();
        // Single-threaded: DynamoDB applies each conditional write and transaction atomically, and moto's
        // threaded server does not (two racing conditional puts can both succeed). Serving one request at a
        // time restores the guarantee the seat and audit checks rely on.
        let server = format!(
            "from moto.server import DomainDispatcherApplication, create_backend_app\n\
             from werkzeug.serving import run_simple\n\
             run_simple('127.0.0.1', {port}, DomainDispatcherApplication(create_backend_app), threaded=False)"
        );
        // The shell waits on its stdin, which only this process holds: when the test process ends, for any
        // reason, stdin closes and the shell stops moto. No orphan servers between runs.
        let script = format!(
            "MOTO_PORT={port} python3 -c \"$MOTO_SERVER\" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .env("MOTO_SERVER", server)
            .stdin(Stdio::piped())
            .spawn()
            .expect("start moto_server through sh");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            _guard: Mutex::new(child),
        }
    }

    /// Sends a moto control request (e.g. `/moto-api/config`).
    pub fn control(&self, path: &str, body: &str) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write to moto");
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).expect("read from moto");
        assert!(
            response.starts_with("HTTP/1.1 2") || response.starts_with("HTTP/1.0 2"),
            "moto {path} failed: {response}"
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

fn ensure_installed() {
    let present = Command::new("python3")
        .args(["-c", "import moto.server, werkzeug"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return;
    }
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "moto[server]"])
        .status()
        .expect("run pip to install moto");
    assert!(status.success(), "pip install 'moto[server]' failed");
}
