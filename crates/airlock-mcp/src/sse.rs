//! Server-sent events, as the MCP Streamable HTTP transport frames JSON-RPC
//! messages in a `text/event-stream` answer: read whole (to screen a tool list)
//! and written (progress, holds, verdicts).
//!
//! Pure: bytes in, events out.

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event:` field (empty means `message`).
    pub event: String,
    /// The `id:` field, for resumption (`Last-Event-ID`).
    pub id: Option<String>,
    /// The `data:` lines, joined with `\n`; `None` for an event without any (a
    /// comment, or an `id:` alone).
    pub data: Option<String>,
    /// Other fields (`retry:`) and comments, kept so that they pass through.
    pub other: Vec<String>,
}

/// Reads a whole event stream (WHATWG HTML, "parsing an event stream"). Lines end
/// with CRLF, LF or CR; an event ends at a blank line; a stream that ends without
/// one still yields its last event. Events without data are kept (not dispatched
/// by a browser, but a relay must pass them on).
pub fn parse(body: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut current = Event::default();
    let mut touched = false;
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    for line in lines(body) {
        if line.is_empty() {
            if touched {
                events.push(std::mem::take(&mut current));
            }
            touched = false;
            continue;
        }
        touched = true;
        let (field, value) = match line.find(':') {
            Some(0) => {
                current.other.push(line.to_owned());
                continue;
            }
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "event" => current.event = value.to_owned(),
            "data" => match &mut current.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => current.data = Some(value.to_owned()),
            },
            "id" if !value.contains('\0') => current.id = Some(value.to_owned()),
            _ => current.other.push(line.to_owned()),
        }
    }
    if touched {
        events.push(current);
    }
    events
}

fn lines(body: &str) -> impl Iterator<Item = &str> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\r', '\n']) {
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
        }
    })
}

/// Writes one event back as text, ending with its blank line.
pub fn write(event: &Event) -> String {
    let mut out = String::new();
    for o in &event.other {
        out.push_str(o);
        out.push('\n');
    }
    if !event.event.is_empty() {
        out.push_str("event: ");
        out.push_str(&event.event);
        out.push('\n');
    }
    if let Some(id) = &event.id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    for line in event.data.iter().flat_map(|d| d.split('\n')) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// One JSON-RPC message as a `message` event.
pub fn message(json: &str) -> String {
    write(&Event {
        event: "message".into(),
        data: Some(json.to_owned()),
        ..Event::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_split_at_blank_lines_with_any_line_ending() {
        let s = "event: message\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\rdata: x\rdata: y\r\rdata:z";
        let e = parse(s);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].event, "message");
        assert_eq!(e[0].id.as_deref(), Some("7"));
        assert_eq!(e[0].data.as_deref(), Some("{\"a\":1}"));
        assert_eq!(e[1].data.as_deref(), Some("x\ny"));
        assert_eq!(e[1].other, [": keep-alive"]);
        assert_eq!(
            e[2].data.as_deref(),
            Some("z"),
            "a last event without its blank line"
        );
    }

    #[test]
    fn written_events_read_back_the_same() {
        let e = Event {
            event: "message".into(),
            id: Some("3".into()),
            data: Some("line one\nline two".into()),
            other: vec!["retry: 1000".into()],
        };
        assert_eq!(parse(&write(&e)), [e]);
        assert_eq!(parse(&message("{}"))[0].data.as_deref(), Some("{}"));
        let comment = parse(": ping\n\n");
        assert_eq!(write(&comment[0]), ": ping\n\n", "no data line is invented");
    }

    #[test]
    fn a_priming_event_without_data_is_kept() {
        // The 2025-11-25 transport opens a stream with an event that has an id and
        // no data, for resumption.
        let e = parse("id: 0\ndata:\n\nid: 1\n\n");
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].id.as_deref(), Some("1"));
        assert_eq!(e[1].data, None);
        assert_eq!(e[0].data.as_deref(), Some(""));
    }
}
