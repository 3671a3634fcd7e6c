//! Replays a recorded XMPP stream (what one side received) through the
//! framer and prints what it contains.
//!
//! ```sh
//! cargo run --example replay -- tests/data/server-session.xml
//! cargo run --example replay -- tests/data/server-session.xml --chunk 1
//! ```
//! `--chunk N` feeds the file N bytes at a time, as a socket might: the
//! output is the same for any N.

use std::process::ExitCode;

use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits, Node};

fn main() -> ExitCode {
    let mut path = None;
    let mut chunk = 4096usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--chunk" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => chunk = n,
                _ => return usage("--chunk needs a positive number"),
            },
            "-h" | "--help" => return usage(""),
            _ if arg.starts_with('-') => return usage(&format!("unknown option {arg}")),
            _ if path.is_none() => path = Some(arg),
            _ => return usage("one transcript at a time"),
        }
    }
    let Some(path) = path else {
        return usage("which transcript?");
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("replay: cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut framer = Framer::new(Limits::default());
    let mut stanzas = 0usize;
    for piece in bytes.chunks(chunk) {
        framer.push(piece);
        loop {
            match framer.next_event() {
                Ok(Some(FrameEvent::StreamStart(h))) => println!(
                    "stream opened: from={} to={} id={} version={} lang={} ns={}",
                    show(&h.from),
                    show(&h.to),
                    show(&h.id),
                    show(&h.version),
                    show(&h.lang),
                    show(&h.content_ns)
                ),
                Ok(Some(FrameEvent::Element(el))) => {
                    stanzas += 1;
                    println!("{}", describe(&el));
                }
                Ok(Some(FrameEvent::StreamEnd)) => println!("stream closed"),
                Ok(None) => break,
                Err(e) => {
                    println!("stream error <{}/>: {e}", e.condition());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    println!(
        "{stanzas} top-level elements in {} bytes; the framer examined {} bytes",
        bytes.len(),
        framer.bytes_examined()
    );
    ExitCode::SUCCESS
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// One line: the element, its addressing attributes, and what it carries.
fn describe(el: &Element) -> String {
    let mut line = format!("<{}>", el.name());
    for key in ["type", "id", "from", "to"] {
        if let Some(v) = el.attr(key) {
            line.push_str(&format!(" {key}={v:?}"));
        }
    }
    let mut parts = Vec::new();
    for node in el.nodes() {
        match node {
            Node::Element(c) => {
                let text = c.text();
                let text = text.trim();
                let lang = c
                    .attr_ns(xmpp_sansio::xml::ns::XML, "lang")
                    .map(|l| format!("@{l}"))
                    .unwrap_or_default();
                if !text.is_empty() && c.children().next().is_none() {
                    parts.push(format!("{}{lang}={text:?}", c.name()));
                } else {
                    let count = c.children().count();
                    let suffix = if count > 0 {
                        format!("[{count}]")
                    } else {
                        String::new()
                    };
                    parts.push(format!("{}{suffix} ({})", c.name(), c.ns()));
                }
            }
            Node::Text(t) if !t.trim().is_empty() => parts.push(format!("text {t:?}")),
            Node::Text(_) => {}
        }
    }
    if !parts.is_empty() {
        line.push_str(": ");
        line.push_str(&parts.join(", "));
    }
    line
}

/// `--help` (no problem): the usage on stdout, exit 0; a usage error: the
/// problem and the usage on stderr, exit 2.
fn usage(problem: &str) -> ExitCode {
    let usage = "usage: cargo run --example replay -- TRANSCRIPT.xml [--chunk N]";
    if problem.is_empty() {
        println!("{usage}");
        ExitCode::SUCCESS
    } else {
        eprintln!("replay: {problem}\n{usage}");
        ExitCode::from(2)
    }
}
