//! What a command reports: a human line (or lines), the same as JSON, and its exit status.

use std::fmt;
use std::process::ExitCode;

use serde_json::Value;

/// A command's answer. Exit status 0 = yes/ok, 1 = no/invalid.
pub struct Outcome {
    ok: bool,
    human: String,
    json: Value,
}

impl Outcome {
    /// A "yes": exit status 0.
    pub fn ok(human: impl Into<String>, json: Value) -> Self {
        Self {
            ok: true,
            human: human.into(),
            json,
        }
    }

    /// A "no" (invalid password, rejected token, unknown user): exit status 1.
    pub fn no(human: impl Into<String>, json: Value) -> Self {
        Self {
            ok: false,
            human: human.into(),
            json,
        }
    }

    /// Prints the answer (JSON or human) and returns the exit status.
    pub fn finish(self, json: bool) -> ExitCode {
        if json {
            println!("{}", self.json);
        } else if !self.human.is_empty() {
            println!("{}", self.human);
        }
        if self.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// A usage or I/O error: one line on stderr, exit status 2.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// The failure to report.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// Prints `error: ...` and returns exit status 2.
    pub fn finish(self) -> ExitCode {
        // One line, whatever the underlying error printed.
        eprintln!("error: {}", self.0.replace('\n', " "));
        ExitCode::from(2)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command's result.
pub type Answer = Result<Outcome, Failure>;

/// Wraps any error as a [`Failure`] prefixed with `context`.
pub fn fail<E: fmt::Display>(context: impl fmt::Display) -> impl FnOnce(E) -> Failure {
    move |err| Failure::new(format!("{context}: {err}"))
}
