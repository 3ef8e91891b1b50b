//! `airlock witness`: create a key, run the witness, get a checkpoint cosigned
//! over HTTP, the way an operator and a log would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use airlock_tlog::{Checkpoint, LogTrust, MemoryTree, Note, SignerKey, WitnessKey, leaf_hash};

const ORIGIN: &str = "airlock.example.com/ledger/cli-test";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("airlock-witness-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn airlock(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .env_remove("AIRLOCK_WITNESS_LISTEN")
        .env_remove("AIRLOCK_WITNESS_STATE_DIR")
        .env_remove("AIRLOCK_WITNESS_KEY_FILE")
        .output()
        .unwrap()
}

struct Witness {
    child: Child,
    addr: String,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(state: &Path, key_file: &Path, log: &str) -> Witness {
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["witness", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state)
        .arg("--key-file")
        .arg(key_file)
        .args(["--log", log])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split(" on http://").nth(1) {
            addr = Some(rest.split('/').next().unwrap().to_owned());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Witness {
        child,
        addr: addr.expect("the witness printed its address"),
    }
}

fn post(addr: &str, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("http://{addr}/add-checkpoint"))
        .send(body.as_bytes())
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

#[test]
fn keygen_then_serve_then_a_checkpoint_is_cosigned() {
    let d = dir("serve");
    let key_file = d.join("witness.key");
    let out = airlock(&[
        "witness",
        "keygen",
        "witness.example.com/w1",
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = String::from_utf8(out.stdout).unwrap();
    let witness_key = WitnessKey::parse(vkey.trim()).unwrap();
    assert_eq!(witness_key.name(), "witness.example.com/w1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A key file is never overwritten.
    let again = airlock(&[
        "witness",
        "keygen",
        "w2",
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));

    let log_key = SignerKey::from_seed(ORIGIN, &[5; 32]).unwrap();
    let w = start(&d.join("state"), &key_file, &log_key.verifier().to_string());
    let mut tree = MemoryTree::new();
    for i in 0..3u8 {
        tree.push(leaf_hash(&[i])).unwrap();
    }
    let checkpoint = Checkpoint::new(ORIGIN, 3, tree.root()).unwrap();
    let mut note = Note::new(checkpoint.to_text()).unwrap();
    note.sign(&log_key);
    let (status, answer) = post(&w.addr, &format!("old 0\n\n{note}"));
    assert_eq!(status, 200, "{answer}");
    let trust =
        LogTrust::new(ORIGIN, vec![log_key.verifier()]).with_witnesses(vec![witness_key], 1);
    trust
        .verify_checkpoint(format!("{note}{answer}").as_bytes())
        .unwrap();
    let (status, answer) = post(&w.addr, &format!("old 1\n\n{note}"));
    assert_eq!((status, answer.as_str()), (409, "3\n"));
}

#[test]
fn unusable_options_say_what_to_do() {
    let d = dir("bad");
    let not_a_key = d.join("not-a-key");
    std::fs::write(&not_a_key, "hello").unwrap();
    let log_key = SignerKey::from_seed(ORIGIN, &[5; 32])
        .unwrap()
        .verifier()
        .to_string();
    let good_key = d.join("good.key");
    let good_key = good_key.to_str().unwrap();
    assert!(
        airlock(&["witness", "keygen", "w", "--key-file", good_key])
            .status
            .success()
    );
    let state = d.join("state");
    let state = state.to_str().unwrap();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--key-file", not_a_key.to_str().unwrap(), "--log", &log_key],
            "airlock witness keygen",
        ),
        (
            vec!["--key-file", "/nonexistent/key", "--log", &log_key],
            "cannot read the witness key file",
        ),
        (
            vec!["--key-file", good_key, "--log", "nonsense"],
            "ORIGIN=VKEY",
        ),
        (vec!["--key-file", good_key], "--log"),
    ];
    for (args, says) in cases {
        let mut all = vec!["witness", "--listen", "127.0.0.1:0", "--state-dir", state];
        all.extend(args);
        let out = airlock(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
    let bad_name = airlock(&[
        "witness",
        "keygen",
        "a b",
        "--key-file",
        d.join("k").to_str().unwrap(),
    ]);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_name.stderr).contains("without spaces"));
}

#[test]
fn help_documents_every_option() {
    for (args, options) in [
        (
            vec!["witness", "--help"],
            vec!["--listen", "--state-dir", "--key-file", "--log", "keygen"],
        ),
        (
            vec!["witness", "keygen", "--help"],
            vec!["<NAME>", "--key-file"],
        ),
    ] {
        let out = airlock(&args);
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        for o in options {
            assert!(help.contains(o), "{args:?} does not document {o}:\n{help}");
        }
    }
    let top = String::from_utf8(airlock(&["--help"]).stdout).unwrap();
    assert!(top.contains("witness"), "{top}");
}
