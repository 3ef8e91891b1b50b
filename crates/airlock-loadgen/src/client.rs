//! One HTTP/1.1 keep-alive connection to the service (hyper's client connection,
//! no pool): a load worker owns one, so N workers are N connections.

use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// Where the service listens: `host:port` and the `Host` header for it.
#[derive(Debug, Clone)]
pub struct Server {
    pub addr: String,
    host: HeaderValue,
}

impl Server {
    /// From `http://HOST:PORT` (a path or trailing slash is ignored; no https).
    pub fn parse(url: &str) -> Result<Server> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            anyhow!("--server `{url}` must start with http:// (the load generator speaks plain HTTP/1.1)")
        })?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            bail!("--server `{url}` has no host");
        }
        let addr = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let host = HeaderValue::from_str(authority)
            .with_context(|| format!("--server `{url}`: bad host"))?;
        Ok(Server { addr, host })
    }
}

/// `Authorization: Bearer TOKEN`.
pub fn bearer(token: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| anyhow!("a token holds characters not allowed in a header"))
}

/// A connection; reconnects on the next request after a failure.
pub struct Conn {
    server: Server,
    sender: Option<SendRequest<Full<Bytes>>>,
    json: HeaderValue,
}

impl Conn {
    pub fn new(server: &Server) -> Conn {
        Conn {
            server: server.clone(),
            sender: None,
            json: HeaderValue::from_static("application/json"),
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.server.addr)
            .await
            .with_context(|| format!("cannot connect to {}", self.server.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection.
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: &HeaderValue,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        self.send_timed(method, path, auth, body)
            .await
            .map(|(status, body, _)| (status, body))
    }

    /// Sends one request and reads the whole answer; also says when the answer's
    /// head arrived (the service had its answer ready; the rest is the transfer).
    pub async fn send_timed(
        &mut self,
        method: Method,
        path: &str,
        auth: &HeaderValue,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes, Instant)> {
        let r = self.send_inner(method, path, auth, body).await;
        if r.is_err() {
            // Start afresh on the next request.
            self.sender = None;
        }
        r
    }

    async fn send_inner(
        &mut self,
        method: Method,
        path: &str,
        auth: &HeaderValue,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes, Instant)> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        sender.ready().await?;
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.server.host.clone())
            .header(AUTHORIZATION, auth.clone())
            .header(CONTENT_TYPE, self.json.clone())
            .body(Full::new(body))?;
        let resp = sender.send_request(req).await?;
        let head = Instant::now();
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        self.sender = Some(sender);
        Ok((status, body, head))
    }

    /// A request whose answer must be 2xx JSON; anything else is an error that says
    /// what the service answered.
    pub async fn json(
        &mut self,
        method: Method,
        path: &str,
        auth: &HeaderValue,
        body: Option<&Value>,
    ) -> Result<Value> {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, answer) = self.send(method.clone(), path, auth, bytes).await?;
        if !status.is_success() {
            bail!(
                "{method} {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        serde_json::from_slice(&answer)
            .with_context(|| format!("{method} {path}: the answer is not JSON"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() -> Result<()> {
        assert_eq!(
            Server::parse("http://127.0.0.1:8750")?.addr,
            "127.0.0.1:8750"
        );
        assert_eq!(Server::parse("http://127.0.0.1:9/")?.addr, "127.0.0.1:9");
        assert_eq!(Server::parse("http://localhost")?.addr, "localhost:80");
        assert!(Server::parse("https://x:1").is_err());
        assert!(Server::parse("127.0.0.1:1").is_err());
        Ok(())
    }
}
