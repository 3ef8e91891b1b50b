//! The aws CLI: service + operation → IAM action → access level → effect.
//!
//! `aws [global options] SERVICE OPERATION [parameters]`, global options anywhere.
//! The operation (`delete-stack`) becomes its IAM action (`cloudformation:DeleteStack`)
//! and the action's access level comes from the AWS IAM catalogue
//! ([`crate::aws_iam_table`]): List/Read → `read`, Write/Tagging → `write`,
//! Permissions management → `permissions`. AWS files deletions under Write, so the
//! destructive verbs (`Delete…`, `Terminate…`, `Purge…`) are derived on top. A few
//! operations are decided by what they carry (a Route 53 change batch holding a
//! `DELETE`, a DynamoDB batch of `DeleteRequest`s, scaling to zero, a password, the
//! shell commands of `ssm send-command`, the SQL of `athena start-query-execution`).
//! The CLI's own commands (`s3 cp/rm/sync`, `configure`, `logs tail`, `cloudformation
//! deploy`) have their own rules. An operation neither the catalogue nor the verb
//! rules know is `unknown`.
//!
//! Targets: resource names from the well-known parameters (`--stack-name`,
//! `--bucket`, `--instance-ids` …), every ARN (account and region come from it),
//! `s3://bucket/key` URLs, SQS queue URLs; `--profile`/`--region` go on every
//! target. With nothing named, a target of kind `aws:<service>` still carries the
//! profile and region, so that environment placement by profile works.

use airlock_model::{Effect, Target};

use crate::aws_iam_table::{self, Level};
use crate::shell::clip;
use crate::{Findings, Part, sql};

use Effect::{Delete, Permissions, Read, Unknown, Write};

/// Classifies `aws …`; `args` are the words after `aws`.
pub fn classify(args: &[&str]) -> Findings {
    classify_at(0, args)
}

/// [`classify`] for a command found `depth` levels deep in a shell line.
pub(crate) fn classify_at(depth: usize, args: &[&str]) -> Findings {
    let text = clip(&format!("aws {}", args.join(" ")));
    let (rest, mut g) = split_globals(args);
    g.depth = depth;
    let mut out = Findings::default();
    let verdict = verdict(&rest, &g, &mut out);
    let bulk = verdict.bulk;
    let mut part = Part::new(text, verdict.effect, verdict.why).bulk(bulk);
    if let Some(op) = verdict.operation {
        part = part.operation(op);
    }
    // The call's own part first: it carries the operation.
    out.parts.insert(0, part);
    targets(&rest, &g, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Global options

/// Global options that take a value.
#[rustfmt::skip]
const GLOBAL_WITH_VALUE: &[&str] = &[
    "--profile", "--region", "--output", "--query", "--endpoint-url", "--ca-bundle",
    "--cli-read-timeout", "--cli-connect-timeout", "--color", "--cli-binary-format",
    "--cli-error-format", "--cli-input-json", "--cli-input-yaml",
];

/// Global options without a value.
const GLOBAL_FLAGS: &[&str] = &[
    "--debug",
    "--no-verify-ssl",
    "--no-paginate",
    "--no-sign-request",
    "--no-cli-pager",
    "--no-cli-auto-prompt",
    "--cli-auto-prompt",
];

#[derive(Default)]
struct Globals {
    profile: Option<String>,
    region: Option<String>,
    /// `--generate-cli-skeleton`: prints a template, calls nothing.
    skeleton: bool,
    /// `--cli-auto-prompt`: the command is edited interactively before it runs.
    prompt: bool,
    /// `--cli-input-json/yaml`: parameters come from a document too.
    input_doc: bool,
    /// Nesting depth of the shell line this command is part of: a remote script
    /// it runs is classified one level deeper, so the walker's bound holds.
    depth: usize,
}

/// Removes the global options (anywhere on the line) and records the ones that
/// matter.
fn split_globals<'a>(args: &[&'a str]) -> (Vec<&'a str>, Globals) {
    let mut g = Globals::default();
    let mut rest = Vec::with_capacity(args.len());
    let mut i = 0;
    while let Some(&w) = args.get(i) {
        i += 1;
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (w, None),
        };
        if GLOBAL_WITH_VALUE.contains(&name) {
            let value = match inline {
                Some(v) => Some(v),
                None => {
                    let v = args.get(i).copied();
                    i += 1;
                    v
                }
            };
            match name {
                "--profile" => g.profile = value.map(str::to_owned),
                "--region" => g.region = value.map(str::to_owned),
                "--cli-input-json" | "--cli-input-yaml" => g.input_doc = true,
                _ => {}
            }
        } else if GLOBAL_FLAGS.contains(&name) {
            g.prompt |= name == "--cli-auto-prompt";
        } else if name == "--generate-cli-skeleton" {
            g.skeleton = true;
            if inline.is_none()
                && args
                    .get(i)
                    .is_some_and(|v| matches!(*v, "input" | "output" | "yaml-input"))
            {
                i += 1;
            }
        } else {
            rest.push(w);
        }
    }
    (rest, g)
}

// ---------------------------------------------------------------------------
// The verdict

struct Verdict {
    effect: Effect,
    why: String,
    bulk: bool,
    operation: Option<String>,
}

fn v(effect: Effect, why: impl Into<String>) -> Verdict {
    Verdict {
        effect,
        why: why.into(),
        bulk: false,
        operation: None,
    }
}

impl Verdict {
    fn op(mut self, op: impl Into<String>) -> Verdict {
        self.operation = Some(op.into());
        self
    }
    fn bulk(mut self, bulk: bool) -> Verdict {
        self.bulk |= bulk;
        self
    }
}

fn verdict(rest: &[&str], g: &Globals, out: &mut Findings) -> Verdict {
    let Some(&service) = rest.first() else {
        return if g.skeleton {
            v(Read, "prints a parameter skeleton")
        } else {
            v(Unknown, "`aws` without a service")
        };
    };
    if service.starts_with('-') {
        return match service {
            "--version" | "--help" | "-h" => v(Read, "prints version or help"),
            _ => v(
                Unknown,
                format!("unrecognised option `{service}` before the service"),
            ),
        };
    }
    if service == "help" {
        return v(Read, "prints help");
    }
    let op = rest.get(1).copied().unwrap_or("");
    let params = rest.get(2..).unwrap_or(&[]);
    if service == "configure" {
        return configure(op);
    }
    if op.is_empty() {
        return v(Read, "no operation: the CLI prints its usage");
    }
    if op.starts_with('-') {
        return match op {
            "--help" | "-h" => v(Read, "prints help"),
            _ => v(
                Unknown,
                format!("unrecognised option `{op}` before the operation"),
            ),
        };
    }
    if op == "help" || params.first() == Some(&"help") {
        return v(Read, "prints help");
    }
    if g.skeleton {
        return v(
            Read,
            "`--generate-cli-skeleton` prints a template and calls nothing",
        );
    }
    let mut verdict = match service {
        "s3" => s3(op, params),
        _ => custom(g.depth, service, op, params, out).unwrap_or_else(|| api(service, op, params)),
    };
    if g.prompt && verdict.effect != Unknown {
        verdict = v(
            Unknown,
            "`--cli-auto-prompt` lets the command be edited before it runs",
        );
    }
    if verdict.effect == Delete && computed(params) {
        verdict.bulk = true;
        verdict
            .why
            .push_str("; the resources are computed at run time (any number)");
    }
    if g.input_doc && verdict.effect != Unknown {
        verdict
            .why
            .push_str("; more parameters come from `--cli-input-json/yaml`");
    }
    verdict
}

/// `aws configure …` edits the local configuration and credentials files.
fn configure(op: &str) -> Verdict {
    match op {
        "list" | "list-profiles" | "get" | "export-credentials" | "help" => v(
            Read,
            format!("`aws configure {op}` reads the local configuration"),
        ),
        "" | "set" | "import" | "add-model" | "sso" | "sso-session" => v(
            Write,
            "`aws configure` writes the local configuration or credentials",
        ),
        _ => v(Unknown, format!("unknown `aws configure {op}`")),
    }
}

/// True when a parameter is computed at run time (`$(…)`, `$VAR`, xargs' items).
fn computed(params: &[&str]) -> bool {
    params.iter().any(|w| {
        w.contains("$(")
            || w.contains('`')
            || *w == "<stdin items>"
            || w.split('$').skip(1).any(|s| {
                s.starts_with('{')
                    || s.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            })
    })
}

// ---------------------------------------------------------------------------
// `aws s3`: the CLI's own high-level commands.

/// `aws s3` options that take a value.
#[rustfmt::skip]
const S3_WITH_VALUE: &[&str] = &[
    "--acl", "--storage-class", "--sse", "--sse-kms-key-id", "--sse-c", "--sse-c-key",
    "--sse-c-copy-source", "--sse-c-copy-source-key", "--content-type", "--cache-control",
    "--content-disposition", "--content-encoding", "--content-language", "--metadata",
    "--metadata-directive", "--expires", "--grants", "--include", "--exclude",
    "--website-redirect", "--page-size", "--expected-size", "--request-payer",
    "--source-region", "--copy-props", "--checksum-algorithm", "--checksum-mode",
    "--expires-in", "--index-document", "--error-document", "--tags", "--bucket-region",
];

fn s3(op: &str, params: &[&str]) -> Verdict {
    let pos = positionals(params, S3_WITH_VALUE);
    let recursive = has(params, "--recursive");
    if matches!(op, "cp" | "mv" | "rm" | "sync") && (has(params, "--dryrun")) {
        return v(
            Read,
            format!("`aws s3 {op} --dryrun` only prints what it would do"),
        )
        .op(format!("s3:{op}"));
    }
    match op {
        "ls" => v(Read, "lists buckets or objects").op("s3:ListBucket"),
        "presign" => v(Read, "signs a download URL locally").op("s3:GetObject"),
        "mb" => v(Write, "creates a bucket").op("s3:CreateBucket"),
        "website" => v(Write, "configures a bucket's website").op("s3:PutBucketWebsite"),
        "rb" => {
            let force = has(params, "--force");
            v(
                Delete,
                if force {
                    "`s3 rb --force` deletes every object, then the bucket"
                } else {
                    "deletes an (empty) bucket"
                },
            )
            .bulk(force)
            .op("s3:DeleteBucket")
        }
        "rm" => v(
            Delete,
            if recursive {
                "`s3 rm --recursive` deletes every object under the prefix"
            } else {
                "deletes an object"
            },
        )
        .bulk(recursive)
        .op("s3:DeleteObject"),
        "mv" => {
            // A move deletes its source once copied: the source is gone (from the
            // bucket, or from the local disk).
            v(Delete, "`s3 mv` deletes the source after copying it")
                .bulk(recursive)
                .op("s3:DeleteObject")
        }
        "sync" if has(params, "--delete") => v(
            Delete,
            "`s3 sync --delete` deletes every destination file missing from the source",
        )
        .bulk(true)
        .op("s3:DeleteObject"),
        "cp" | "sync" => {
            let dst = pos.get(1).copied().unwrap_or("");
            if op == "cp" && dst == "-" {
                v(Read, "copies to standard output").op("s3:GetObject")
            } else if dst.starts_with("s3://") {
                v(Write, format!("`s3 {op}` uploads or copies objects")).op("s3:PutObject")
            } else {
                v(Write, format!("`s3 {op}` downloads to local files")).op("s3:GetObject")
            }
        }
        _ => v(Unknown, format!("unknown `aws s3 {op}`")),
    }
}

fn has(params: &[&str], flag: &str) -> bool {
    params.iter().any(|w| {
        *w == flag
            || w.strip_prefix(flag)
                .is_some_and(|r| r.starts_with('=') && r != "=false")
    })
}

/// Words that are not options or the values of the given options.
fn positionals<'a>(params: &[&'a str], with_value: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    for w in params {
        if skip {
            skip = false;
        } else if w.starts_with("--") {
            skip = with_value.contains(w);
        } else {
            out.push(*w);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The CLI's other own commands and the operations decided by their content.

fn custom(
    depth: usize,
    service: &str,
    op: &str,
    params: &[&str],
    out: &mut Findings,
) -> Option<Verdict> {
    Some(match (service, op) {
        ("history", _) => v(Read, "shows the CLI's command history"),
        (_, "wait") => v(Read, "waits for a resource state (polls describe calls)"),
        ("sso", "login" | "logout") => v(Write, "updates the local SSO token cache"),
        ("eks", "update-kubeconfig") => {
            v(Write, "writes the local kubeconfig").op("eks:DescribeCluster")
        }
        ("eks", "get-token") => v(Read, "signs a cluster token locally").op("eks:GetToken"),
        ("codeartifact", "login") => v(Write, "writes the local package manager configuration")
            .op("codeartifact:GetAuthorizationToken"),
        ("rds", "generate-db-auth-token") => {
            v(Read, "signs a database auth token locally").op("rds-db:connect")
        }
        ("cloudformation", "deploy") => v(
            Write,
            "creates and executes a change set; the template is not visible here",
        )
        .op("cloudformation:ExecuteChangeSet"),
        ("cloudformation", "package") => {
            v(Write, "uploads local artifacts to S3").op("s3:PutObject")
        }
        ("emr", "ssh" | "socks" | "get" | "put") => v(
            Unknown,
            format!("`emr {op}` opens an SSH session to the cluster"),
        ),
        ("ec2-instance-connect", "ssh" | "open-tunnel") => {
            v(Unknown, "an interactive SSH session on the instance")
        }
        ("ssm", "send-command") => ssm_send_command(depth, params, out),
        ("athena", "start-query-execution") => sql_call(
            "athena:StartQueryExecution",
            &values(params, "--query-string"),
            out,
        ),
        ("redshift-data", "execute-statement") => sql_call(
            "redshift-data:ExecuteStatement",
            &values(params, "--sql"),
            out,
        ),
        ("redshift-data", "batch-execute-statement") => sql_call(
            "redshift-data:BatchExecuteStatement",
            &values(params, "--sqls"),
            out,
        ),
        ("rds-data", "execute-statement" | "batch-execute-statement") => sql_call(
            &format!("rds-data:{}", pascal(op)),
            &values(params, "--sql"),
            out,
        ),
        ("rds-data", "execute-sql") => sql_call(
            "rds-data:ExecuteSql",
            &values(params, "--sql-statements"),
            out,
        ),
        ("dynamodb", "execute-statement") => sql_call(
            "dynamodb:ExecuteStatement",
            &values(params, "--statement"),
            out,
        ),
        ("dynamodb", "batch-execute-statement" | "execute-transaction") => {
            let doc = values(params, "--statements")
                .into_iter()
                .chain(values(params, "--transact-statements"))
                .collect::<Vec<_>>();
            let statements = doc
                .iter()
                .flat_map(|d| json_strings(d, "Statement"))
                .collect::<Vec<_>>();
            if statements.is_empty() {
                v(
                    Unknown,
                    "the PartiQL statements are not visible (a file or shorthand)",
                )
                .op(format!("dynamodb:{}", pascal(op)))
            } else {
                let refs = statements.iter().map(String::as_str).collect::<Vec<_>>();
                sql_call(&format!("dynamodb:{}", pascal(op)), &refs, out)
            }
        }
        _ => return None,
    })
}

/// All values of an option (`--opt a b c` or `--opt=a`).
fn values<'a>(params: &[&'a str], name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&w) = params.get(i) {
        i += 1;
        if w == name {
            while let Some(&val) = params.get(i) {
                if val.starts_with("--") {
                    break;
                }
                out.push(val);
                i += 1;
            }
        } else if let Some(val) = w.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            out.push(val);
        }
    }
    out
}

fn value<'a>(params: &[&'a str], name: &str) -> Option<&'a str> {
    values(params, name).into_iter().next()
}

/// The string values of every `key` field anywhere in a JSON document.
fn json_strings(doc: &str, key: &str) -> Vec<String> {
    fn walk(v: &serde_json::Value, key: &str, out: &mut Vec<String>, depth: usize) {
        if depth > 32 {
            return;
        }
        match v {
            serde_json::Value::Object(m) => {
                for (k, val) in m {
                    match val {
                        serde_json::Value::String(s) if k == key => out.push(s.clone()),
                        _ => walk(val, key, out, depth + 1),
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for val in a {
                    walk(val, key, out, depth + 1);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) {
        walk(&v, key, &mut out, 0);
    }
    out
}

/// An operation that runs SQL (Athena, Redshift Data, RDS Data, DynamoDB PartiQL):
/// the SQL decides. Its table targets are dropped: they are remote tables, named
/// without the database they live in.
fn sql_call(operation: &str, statements: &[&str], out: &mut Findings) -> Verdict {
    let statements: Vec<&str> = statements
        .iter()
        .copied()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if statements.is_empty() {
        return v(Unknown, "the SQL it runs is not visible").op(operation);
    }
    if statements.iter().any(|s| s.starts_with("file://")) {
        return v(Unknown, "runs SQL from a file airlock has not read").op(operation);
    }
    let mut inner = Findings::default();
    for s in statements {
        inner.extend(sql::classify(s, sql::Dialect::Generic));
    }
    let effect = inner.effect();
    let bulk = inner.bulk();
    out.parts.extend(inner.parts);
    v(effect, format!("runs SQL: {effect}"))
        .bulk(bulk)
        .op(operation)
}

/// `ssm send-command`: the shell commands of `AWS-RunShellScript` decide; other
/// documents run what airlock cannot see. Targets chosen by tag or resource group
/// reach any number of instances: bulk.
fn ssm_send_command(depth: usize, params: &[&str], out: &mut Findings) -> Verdict {
    let op = "ssm:SendCommand";
    let doc = value(params, "--document-name").unwrap_or("");
    let by_tag = values(params, "--targets")
        .iter()
        .any(|t| t.contains("tag:") || t.contains("resource-groups") || t.contains("Values=*"));
    if doc != "AWS-RunShellScript" {
        return v(
            Unknown,
            format!("runs document `{doc}` on instances; what it does is not visible"),
        )
        .op(op)
        .bulk(by_tag);
    }
    let Some(commands) = value(params, "--parameters").and_then(shell_commands) else {
        return v(Unknown, "the commands it runs are not visible").op(op);
    };
    let mut inner = Findings::default();
    for c in &commands {
        inner.extend(remote_script(depth, c));
    }
    let effect = inner.effect();
    let bulk = inner.bulk() || by_tag;
    out.parts.extend(inner.parts);
    v(
        effect,
        format!("runs shell commands on instances: {effect}"),
    )
    .bulk(bulk)
    .op(op)
}

/// The `commands` of `--parameters`: JSON (`{"commands":[…]}`) or shorthand
/// (`commands=["…","…"]`, `commands=a,b`). `None` when they cannot be read.
fn shell_commands(p: &str) -> Option<Vec<String>> {
    if p.starts_with("file://") {
        return None;
    }
    let as_list = |v: &serde_json::Value| -> Option<Vec<String>> {
        match v {
            serde_json::Value::String(s) => Some(vec![s.clone()]),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        }
    };
    if p.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(p).ok()?;
        return as_list(v.get("commands")?);
    }
    let rest = p.split_once("commands=")?.1;
    if rest.starts_with('[') || rest.starts_with('"') {
        // The first JSON value; shorthand may continue with `,key=…` after it.
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
        let v = stream.next()?.ok()?;
        return as_list(&v);
    }
    Some(rest.split(',').map(str::to_owned).collect())
}

pub(crate) fn remote_script(depth: usize, script: &str) -> Findings {
    // One level deeper than the line that runs the CLI: a script that runs the CLI
    // that runs a script… ends at the walker's depth limit.
    let mut f = crate::shell::Walker::new(depth + 1).script(script);
    f.targets.clear();
    f
}

// ---------------------------------------------------------------------------
// API operations: the IAM catalogue and the verb rules.

/// CLI service names whose IAM prefix differs.
#[rustfmt::skip]
const SERVICE_PREFIX: &[(&str, &str)] = &[
    ("accessanalyzer", "access-analyzer"), ("apigatewaymanagementapi", "execute-api"),
    ("apigatewayv2", "apigateway"), ("appconfigdata", "appconfig"),
    ("bedrock-agent", "bedrock"), ("bedrock-agent-runtime", "bedrock"),
    ("bedrock-runtime", "bedrock"), ("cloudcontrol", "cloudformation"),
    ("cloudhsmv2", "cloudhsm"), ("cloudsearchdomain", "cloudsearch"),
    ("codeguruprofiler", "codeguru-profiler"), ("configservice", "config"),
    ("deploy", "codedeploy"), ("docdb", "rds"), ("dynamodbstreams", "dynamodb"),
    ("efs", "elasticfilesystem"), ("elb", "elasticloadbalancing"),
    ("elbv2", "elasticloadbalancing"), ("emr", "elasticmapreduce"),
    ("greengrassv2", "greengrass"), ("iot-data", "iot"), ("iot-jobs-data", "iotjobsdata"),
    ("keyspaces", "cassandra"), ("kinesis-video-media", "kinesisvideo"),
    ("kinesisanalyticsv2", "kinesisanalytics"), ("lex-models", "lex"), ("lex-runtime", "lex"),
    ("lexv2-models", "lex"), ("lexv2-runtime", "lex"),
    ("marketplace-catalog", "aws-marketplace"), ("mediastore-data", "mediastore"),
    ("meteringmarketplace", "aws-marketplace"), ("msk", "kafka"), ("mwaa", "airflow"),
    ("neptune", "rds"), ("neptunedata", "neptune-db"), ("opensearch", "es"),
    ("opensearchserverless", "aoss"), ("payment-cryptography-data", "payment-cryptography"),
    ("pinpoint", "mobiletargeting"), ("resourcegroupstaggingapi", "tag"), ("s3api", "s3"),
    ("s3control", "s3"), ("s3outposts", "s3-outposts"), ("sagemaker-a2i-runtime", "sagemaker"),
    ("sagemaker-featurestore-runtime", "sagemaker"), ("sagemaker-runtime", "sagemaker"),
    ("service-quotas", "servicequotas"), ("sesv2", "ses"), ("sso-admin", "sso"),
    ("sso-oidc", "sso-oauth"), ("stepfunctions", "states"), ("taxsettings", "tax"),
    ("timestream-query", "timestream"), ("timestream-write", "timestream"),
    ("voice-id", "voiceid"),
];

/// The IAM prefix of a CLI service, as the catalogue spells it; the CLI name itself
/// when the catalogue does not know it.
fn iam_prefix(service: &str) -> String {
    let mapped = SERVICE_PREFIX
        .iter()
        .find(|(cli, _)| *cli == service)
        .map_or(service, |(_, p)| p);
    aws_iam_table::prefix(mapped).map_or_else(|| mapped.to_ascii_lowercase(), str::to_owned)
}

/// CLI operations whose IAM action has another name.
#[rustfmt::skip]
const ACTION_OVERRIDES: &[(&str, &str, &str)] = &[
    ("s3", "list-objects", "ListBucket"), ("s3", "list-objects-v2", "ListBucket"),
    ("s3", "list-object-versions", "ListBucketVersions"), ("s3", "head-object", "GetObject"),
    ("s3", "head-bucket", "ListBucket"), ("s3", "list-buckets", "ListAllMyBuckets"),
    ("s3", "delete-objects", "DeleteObject"), ("s3", "copy-object", "PutObject"),
    ("s3", "create-multipart-upload", "PutObject"), ("s3", "upload-part", "PutObject"),
    ("s3", "upload-part-copy", "PutObject"), ("s3", "complete-multipart-upload", "PutObject"),
    ("s3", "list-parts", "ListMultipartUploadParts"),
    ("s3", "list-multipart-uploads", "ListBucketMultipartUploads"),
    ("s3", "select-object-content", "GetObject"),
    ("s3", "get-public-access-block", "GetBucketPublicAccessBlock"),
    ("s3", "put-public-access-block", "PutBucketPublicAccessBlock"),
    ("s3", "delete-public-access-block", "PutBucketPublicAccessBlock"),
    ("s3", "put-bucket-lifecycle", "PutLifecycleConfiguration"),
    ("s3", "put-bucket-lifecycle-configuration", "PutLifecycleConfiguration"),
    ("s3", "delete-bucket-lifecycle", "PutLifecycleConfiguration"),
    ("s3", "get-bucket-lifecycle-configuration", "GetLifecycleConfiguration"),
    ("s3", "put-bucket-encryption", "PutEncryptionConfiguration"),
    ("s3", "delete-bucket-encryption", "PutEncryptionConfiguration"),
    ("s3", "get-bucket-encryption", "GetEncryptionConfiguration"),
    ("s3", "put-bucket-cors", "PutBucketCORS"), ("s3", "delete-bucket-cors", "PutBucketCORS"),
    ("s3", "get-bucket-cors", "GetBucketCORS"),
    ("s3", "delete-bucket-tagging", "PutBucketTagging"),
    ("s3", "put-bucket-replication", "PutReplicationConfiguration"),
    ("s3", "delete-bucket-replication", "PutReplicationConfiguration"),
    ("s3", "get-bucket-replication", "GetReplicationConfiguration"),
    ("s3", "put-bucket-notification-configuration", "PutBucketNotification"),
    ("s3", "get-bucket-notification-configuration", "GetBucketNotification"),
    ("s3", "put-object-lock-configuration", "PutBucketObjectLockConfiguration"),
    ("s3", "get-object-lock-configuration", "GetBucketObjectLockConfiguration"),
    ("s3", "delete-bucket-ownership-controls", "PutBucketOwnershipControls"),
    ("s3", "put-bucket-accelerate-configuration", "PutAccelerateConfiguration"),
    ("s3", "put-bucket-inventory-configuration", "PutInventoryConfiguration"),
    ("s3", "put-bucket-metrics-configuration", "PutMetricsConfiguration"),
    ("s3", "put-bucket-analytics-configuration", "PutAnalyticsConfiguration"),
    ("s3", "put-bucket-intelligent-tiering-configuration", "PutIntelligentTieringConfiguration"),
    ("lambda", "invoke", "InvokeFunction"),
    ("lambda", "invoke-with-response-stream", "InvokeFunction"),
    ("logs", "tail", "FilterLogEvents"),
    ("ecr", "get-login-password", "GetAuthorizationToken"),
    ("ecr", "get-login", "GetAuthorizationToken"),
    ("elasticmapreduce", "add-steps", "AddJobFlowSteps"),
    ("elasticmapreduce", "terminate-clusters", "TerminateJobFlows"),
    ("elasticmapreduce", "create-cluster", "RunJobFlow"),
    ("elasticmapreduce", "list-clusters", "ListClusters"),
];

/// Decided here, not by the catalogue (whose level is noted).
#[rustfmt::skip]
const EFFECT_OVERRIDES: &[(&str, &str, Effect, &str)] = &[
    // Catalogue: Write. Obtaining temporary credentials changes nothing.
    ("sts", "AssumeRole", Read, "obtains temporary credentials; changes nothing"),
    ("sts", "AssumeRoleWithSAML", Read, "obtains temporary credentials; changes nothing"),
    ("sts", "AssumeRoleWithWebIdentity", Read, "obtains temporary credentials; changes nothing"),
    ("sts", "DecodeAuthorizationMessage", Read, "decodes a message"),
    // Catalogue: Write. Cryptographic operations return data and change nothing.
    ("kms", "Decrypt", Read, "decrypts data; changes nothing"),
    ("kms", "Encrypt", Read, "encrypts data; changes nothing"),
    ("kms", "GenerateDataKey", Read, "generates a data key; changes nothing"),
    ("kms", "GenerateDataKeyWithoutPlaintext", Read, "generates a data key; changes nothing"),
    ("kms", "GenerateDataKeyPair", Read, "generates a data key; changes nothing"),
    ("kms", "ReEncrypt", Read, "re-encrypts data; changes nothing"),
    ("kms", "Sign", Read, "signs data; changes nothing"),
    ("kms", "Verify", Read, "verifies a signature"),
    ("kms", "GenerateMac", Read, "computes a MAC; changes nothing"),
    ("kms", "VerifyMac", Read, "verifies a MAC"),
    // Catalogue: Write. Destructive although not named so.
    ("kms", "ScheduleKeyDeletion", Delete, "deletes the key: all data encrypted under it becomes unreadable"),
    ("organizations", "CloseAccount", Delete, "closes an AWS account and everything in it"),
    ("elasticbeanstalk", "RebuildEnvironment", Delete, "deletes and recreates every resource of the environment"),
    // Catalogue: Write. Firewall rules, SSH keys and sharing change who can reach what.
    ("ec2", "CreateNetworkAclEntry", Permissions, "changes a network ACL (firewall rule)"),
    ("ec2", "ReplaceNetworkAclEntry", Permissions, "changes a network ACL (firewall rule)"),
    ("ec2", "DeleteNetworkAclEntry", Permissions, "changes a network ACL (firewall rule)"),
    ("ec2", "ModifySecurityGroupRules", Permissions, "changes security-group rules"),
    ("ec2", "CreateKeyPair", Permissions, "issues an SSH key pair"),
    ("ec2", "ImportKeyPair", Permissions, "registers an SSH public key"),
    ("ec2", "DeleteKeyPair", Permissions, "removes an SSH key pair"),
    ("ec2", "ModifyImageAttribute", Permissions, "changes who may launch an AMI"),
    ("ec2-instance-connect", "SendSSHPublicKey", Permissions, "grants SSH access to an instance"),
    ("ec2-instance-connect", "SendSerialConsoleSSHPublicKey", Permissions, "grants serial-console access"),
    ("lightsail", "OpenInstancePublicPorts", Permissions, "opens firewall ports"),
    ("lightsail", "PutInstancePublicPorts", Permissions, "sets firewall ports"),
    ("lightsail", "CloseInstancePublicPorts", Permissions, "closes firewall ports"),
];

/// Operations that run code airlock cannot see (a function, a build, a task, a
/// state machine, a session): `unknown` whatever the catalogue says (Write).
#[rustfmt::skip]
const RUNS_CODE: &[(&str, &str)] = &[
    ("lambda", "InvokeFunction"), ("lambda", "InvokeAsync"), ("lambda", "InvokeFunctionUrl"),
    ("states", "StartExecution"), ("states", "StartSyncExecution"),
    ("states", "RedriveExecution"), ("codebuild", "StartBuild"),
    ("codebuild", "StartBuildBatch"), ("codebuild", "RetryBuild"),
    ("codebuild", "RetryBuildBatch"), ("codepipeline", "StartPipelineExecution"),
    ("codepipeline", "RetryStageExecution"), ("ssm", "StartSession"),
    ("ssm", "StartAutomationExecution"), ("ssm", "StartChangeRequestExecution"),
    ("ecs", "ExecuteCommand"), ("ecs", "RunTask"), ("ecs", "StartTask"),
    ("glue", "StartJobRun"), ("glue", "StartWorkflowRun"), ("batch", "SubmitJob"),
    ("elasticmapreduce", "AddJobFlowSteps"), ("emr-containers", "StartJobRun"),
    ("emr-serverless", "StartJobRun"), ("apigateway", "TestInvokeMethod"),
];

/// Services whose every change is a change of who can do what.
const IDENTITY_SERVICES: &[&str] = &["iam", "identitystore", "sso"];
/// Web firewalls: their rules decide who may reach what.
const FIREWALL_SERVICES: &[&str] = &["wafv2", "waf", "waf-regional", "network-firewall"];

/// Deletions of a container of data (a stack, a table, a database, a file system):
/// everything in it goes too.
#[rustfmt::skip]
const BULK_DELETES: &[(&str, &str)] = &[
    ("cloudformation", "DeleteStack"), ("cloudformation", "DeleteStackInstances"),
    ("dynamodb", "DeleteTable"), ("rds", "DeleteDBInstance"), ("rds", "DeleteDBCluster"),
    ("rds", "DeleteGlobalCluster"), ("redshift", "DeleteCluster"),
    ("redshift-serverless", "DeleteNamespace"), ("elasticache", "DeleteCacheCluster"),
    ("elasticache", "DeleteReplicationGroup"), ("elasticache", "DeleteServerlessCache"),
    ("memorydb", "DeleteCluster"), ("elasticfilesystem", "DeleteFileSystem"),
    ("fsx", "DeleteFileSystem"), ("eks", "DeleteCluster"), ("logs", "DeleteLogGroup"),
    ("s3", "DeleteObjects"), ("sqs", "PurgeQueue"), ("sqs", "DeleteQueue"),
    ("kinesis", "DeleteStream"), ("es", "DeleteDomain"), ("es", "DeleteElasticsearchDomain"),
    ("glue", "DeleteDatabase"), ("timestream", "DeleteTable"),
    ("timestream", "DeleteDatabase"), ("cassandra", "DeleteKeyspace"),
    ("cassandra", "DeleteTable"), ("kafka", "DeleteCluster"), ("mq", "DeleteBroker"),
    ("dax", "DeleteCluster"), ("qldb", "DeleteLedger"), ("neptune-graph", "DeleteGraph"),
    ("docdb-elastic", "DeleteCluster"), ("cognito-idp", "DeleteUserPool"),
    ("elasticbeanstalk", "TerminateEnvironment"), ("elasticbeanstalk", "RebuildEnvironment"),
    ("organizations", "CloseAccount"), ("kms", "ScheduleKeyDeletion"),
];

/// Flags that make a deletion reach everything inside (`ecr delete-repository
/// --force`, `autoscaling delete-auto-scaling-group --force-delete`).
const BULK_FLAGS: &[&str] = &[
    "--force",
    "--force-delete",
    "--recursive",
    "--recursive-delete-option",
];

/// `delete-stack` → `DeleteStack`.
fn pascal(op: &str) -> String {
    op.split('-')
        .map(|s| {
            let mut c = s.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}

/// The first word of an action name (`Delete` of `DeleteStack`), after an `Admin`
/// prefix (`AdminDeleteUser`).
fn verb_of(action: &str) -> &str {
    let a = action
        .strip_prefix("Admin")
        .filter(|r| r.starts_with(|c: char| c.is_ascii_uppercase()))
        .unwrap_or(action);
    let end = a
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(a.len(), |(i, _)| i);
    a.get(..end).unwrap_or(a)
}

/// Verbs that destroy. Not here, and why: `Stop`, `Disable`, `Cancel`, `Detach`,
/// `Disassociate`, `Reset`, `Deactivate` are reversible (a stopped instance starts
/// again, a detached volume keeps its data): `write`.
#[rustfmt::skip]
const DELETE_VERBS: &[&str] = &[
    "Delete", "Terminate", "Remove", "Purge", "Deregister", "Drop", "Destroy", "Release",
    "Wipe", "Erase", "Empty", "Discard",
];

/// Verbs that change who may do what (`AuthorizeSecurityGroupIngress` is filed under
/// Write by AWS).
const PERMISSION_VERBS: &[&str] = &["Authorize", "Revoke", "Grant"];

/// Verbs that only read, for operations the catalogue does not list.
#[rustfmt::skip]
const READ_VERBS: &[&str] = &[
    "Describe", "List", "Get", "Head", "Search", "Lookup", "Query", "Scan", "Select", "Preview",
    "Estimate", "Validate", "Check", "Filter", "Tail", "Wait", "Verify", "Detect", "Discover",
    "Simulate", "Read", "Poll", "Receive", "Batch",
];

/// Verbs that create or change, for operations the catalogue does not list.
#[rustfmt::skip]
const WRITE_VERBS: &[&str] = &[
    "Create", "Put", "Update", "Modify", "Set", "Start", "Stop", "Reboot", "Tag", "Untag",
    "Copy", "Upload", "Import", "Export", "Enable", "Disable", "Associate", "Disassociate",
    "Register", "Attach", "Detach", "Add", "Publish", "Send", "Restore", "Reset", "Apply",
    "Cancel", "Change", "Replace", "Reject", "Accept", "Allocate", "Assign", "Unassign",
    "Confirm", "Configure", "Deploy", "Promote", "Failover", "Reload", "Subscribe",
    "Unsubscribe", "Initiate", "Complete", "Abort", "Provision", "Request", "Renew", "Resume",
    "Suspend", "Pause", "Retry", "Resize", "Move", "Rename", "Increase", "Decrease",
    "Deactivate", "Activate", "Merge", "Push", "Upgrade", "Rollback", "Rotate", "Reboot",
    "Schedule", "Download",
];

/// Words in an unlisted action's name that mean access control.
const PERMISSION_WORDS: &[&str] = &[
    "Policy",
    "Policies",
    "Permission",
    "Acl",
    "PublicAccessBlock",
    "AccessKey",
    "Credential",
    "Password",
    "LoginProfile",
];

/// Options that set a resource policy (`sqs set-queue-attributes` aside).
const POLICY_OPTIONS: &[&str] = &[
    "--policy",
    "--policy-document",
    "--policy-text",
    "--resource-policy",
    "--access-policies",
];

/// Options that scale to zero when their value is 0.
const SCALE_OPTIONS: &[&str] = &[
    "--desired-count",
    "--desired-capacity",
    "--max-size",
    "--max-capacity",
    "--desired-instance-count",
];

fn api(service: &str, op: &str, params: &[&str]) -> Verdict {
    let prefix = iam_prefix(service);
    let cli_action = pascal(op);
    let wanted = ACTION_OVERRIDES
        .iter()
        .find(|(p, o, _)| *p == prefix && *o == op)
        .map_or(cli_action.clone(), |(_, _, a)| (*a).to_owned());
    let found = aws_iam_table::lookup(&prefix, &wanted);
    let action = found.map_or(wanted, |(name, _)| name.to_owned());
    let operation = format!("{prefix}:{action}");
    let level = found.map(|(_, l)| l);

    if params.contains(&"--dry-run") {
        return v(Read, "`--dry-run` only checks the permissions").op(operation);
    }
    let mut verdict = base_effect(&prefix, &action, level).op(operation);
    if verdict.effect == Unknown || verdict.effect == Read {
        return verdict;
    }
    content_rules(&prefix, &action, params, &mut verdict);
    if verdict.effect == Delete {
        let bulk = [action.as_str(), cli_action.as_str()]
            .iter()
            .any(|a| BULK_DELETES.contains(&(prefix.as_str(), a)))
            || BULK_FLAGS.iter().any(|f| has(params, f));
        verdict = verdict.bulk(bulk);
    }
    verdict
}

/// The effect of an action from the catalogue's level and the verb rules.
fn base_effect(prefix: &str, action: &str, level: Option<Level>) -> Verdict {
    if let Some((.., e, why)) = EFFECT_OVERRIDES
        .iter()
        .find(|(p, a, ..)| *p == prefix && *a == action)
    {
        return v(*e, *why);
    }
    if RUNS_CODE.contains(&(prefix, action)) {
        return v(
            Unknown,
            format!("`{prefix}:{action}` runs code airlock cannot see"),
        );
    }
    let verb = verb_of(action);
    let batch_delete = verb == "Batch" && action.contains("Delete");
    let destroys = DELETE_VERBS.contains(&verb) || batch_delete;
    match level {
        Some(Level::List | Level::Read) => v(Read, "AWS files it under List/Read"),
        Some(Level::Tagging) => v(Write, "AWS files it under Tagging"),
        Some(Level::PermissionsManagement) => {
            v(Permissions, "AWS files it under Permissions management")
        }
        Some(Level::Write) => {
            if IDENTITY_SERVICES.contains(&prefix) || FIREWALL_SERVICES.contains(&prefix) {
                v(
                    Permissions,
                    format!("changes {prefix} (who may do or reach what)"),
                )
            } else if prefix == "organizations" && action.contains("Polic") {
                v(
                    Permissions,
                    "changes organization policies (what accounts may do)",
                )
            } else if PERMISSION_VERBS.contains(&verb) {
                v(
                    Permissions,
                    format!("`{verb}…` changes who may do or reach what"),
                )
            } else if destroys {
                v(
                    Delete,
                    format!("`{verb}…` destroys (AWS files it under Write)"),
                )
            } else {
                v(Write, "AWS files it under Write")
            }
        }
        None => fallback(prefix, action, verb, destroys),
    }
}

/// An operation the catalogue does not list: the verb decides, else `unknown`.
fn fallback(prefix: &str, action: &str, verb: &str, destroys: bool) -> Verdict {
    let why = |e: &str| format!("`{prefix}:{action}` is not in the IAM catalogue; `{verb}…` {e}");
    let reads = READ_VERBS.contains(&verb) && (verb != "Batch" || action.starts_with("BatchGet"));
    if reads {
        return v(Read, why("reads"));
    }
    let changes = destroys
        || PERMISSION_VERBS.contains(&verb)
        || WRITE_VERBS.contains(&verb)
        || (verb == "Batch" && action.contains("Write"));
    if !changes {
        return v(
            Unknown,
            format!("`{prefix}:{action}` is not in the IAM catalogue and its verb is unknown"),
        );
    }
    if PERMISSION_VERBS.contains(&verb)
        || IDENTITY_SERVICES.contains(&prefix)
        || FIREWALL_SERVICES.contains(&prefix)
        || PERMISSION_WORDS.iter().any(|w| action.contains(w))
    {
        v(Permissions, why("changes access"))
    } else if destroys {
        v(Delete, why("destroys"))
    } else {
        v(Write, why("changes"))
    }
}

/// Rules on what a changing call carries.
fn content_rules(prefix: &str, action: &str, params: &[&str], verdict: &mut Verdict) {
    let raise = |verdict: &mut Verdict, effect: Effect, why: String| {
        if effect > verdict.effect {
            verdict.effect = effect;
            verdict.why = why;
        }
    };
    // Credentials: a password set or changed.
    // A new resource's first password is part of creating it, not a change of access.
    let creates = matches!(verb_of(action), "Create" | "Run");
    if let Some(opt) = params.iter().find(|w| {
        !creates && w.starts_with("--") && w.contains("password") && !w.starts_with("--no-")
    }) {
        raise(verdict, Permissions, format!("`{opt}` sets a credential"));
    }
    if has(params, "--publicly-accessible") {
        raise(
            verdict,
            Permissions,
            "`--publicly-accessible` opens it to the internet".into(),
        );
    }
    if let Some(opt) = POLICY_OPTIONS.iter().find(|o| has(params, o)) {
        raise(
            verdict,
            Permissions,
            format!("`{opt}` sets a resource policy"),
        );
    }
    // Scaling to zero removes every running instance or task.
    for opt in SCALE_OPTIONS {
        if value(params, opt) == Some("0") {
            raise(verdict, Delete, format!("`{opt} 0` scales to zero"));
        }
    }
    if let Some(cfg) = value(params, "--scaling-config") {
        let c = squash(cfg);
        if c.contains("desiredsize=0") || c.contains("desiredsize:0") || c.contains("maxsize=0") {
            raise(verdict, Delete, "scales the node group to zero".into());
        }
    }
    match (prefix, action) {
        ("route53", "ChangeResourceRecordSets") => {
            batch(
                verdict,
                value(params, "--change-batch"),
                &["action:delete", "action=delete"],
                "the change batch deletes records",
            );
        }
        ("dynamodb", "BatchWriteItem") => {
            batch(
                verdict,
                value(params, "--request-items"),
                &["deleterequest"],
                "the batch holds DeleteRequests",
            );
        }
        ("dynamodb", "TransactWriteItems") => {
            batch(
                verdict,
                value(params, "--transact-items"),
                &["delete:", "delete="],
                "the transaction deletes items",
            );
        }
        _ => {}
    }
}

/// A batch whose items decide: `delete` when any inline item deletes. A batch in a
/// file is `write`, like a deploy whose template is not shown, with a note.
fn batch(verdict: &mut Verdict, doc: Option<&str>, markers: &[&str], why: &str) {
    let Some(doc) = doc else { return };
    if doc.starts_with("file://") || doc.starts_with("fileb://") {
        verdict
            .why
            .push_str("; the batch is in a file airlock has not read (it may delete)");
        return;
    }
    let d = squash(doc);
    if markers.iter().any(|m| d.contains(m)) && verdict.effect < Delete {
        verdict.effect = Delete;
        verdict.why = why.into();
    }
}

/// Lowercase, without quotes and white space: `"Action": "DELETE"` → `action:delete`.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .flat_map(char::to_lowercase)
        .collect()
}

// ---------------------------------------------------------------------------
// Targets

/// Options that name a resource, and its kind (`aws:<prefix>:<kind>`).
#[rustfmt::skip]
const NAME_OPTIONS: &[(&str, &str)] = &[
    ("--stack-name", "stack"), ("--bucket", "bucket"), ("--table-name", "table"),
    ("--function-name", "function"), ("--role-name", "role"), ("--user-name", "user"),
    ("--group-name", "group"), ("--policy-name", "policy"),
    ("--instance-profile-name", "instance-profile"), ("--db-instance-identifier", "db"),
    ("--db-cluster-identifier", "cluster"), ("--db-snapshot-identifier", "snapshot"),
    ("--cluster", "cluster"), ("--cluster-name", "cluster"),
    ("--cluster-identifier", "cluster"), ("--service", "service"),
    ("--instance-id", "instance"), ("--instance-ids", "instance"), ("--volume-id", "volume"),
    ("--volume-ids", "volume"), ("--snapshot-id", "snapshot"), ("--snapshot-ids", "snapshot"),
    ("--image-id", "image"), ("--vpc-id", "vpc"), ("--subnet-id", "subnet"),
    ("--group-id", "security-group"), ("--group-ids", "security-group"),
    ("--allocation-id", "elastic-ip"), ("--hosted-zone-id", "hostedzone"),
    ("--queue-name", "queue"), ("--secret-id", "secret"), ("--key-id", "key"),
    ("--log-group-name", "log-group"), ("--repository-name", "repository"),
    ("--file-system-id", "file-system"), ("--replication-group-id", "replication-group"),
    ("--cache-cluster-id", "cache-cluster"), ("--nodegroup-name", "nodegroup"),
    ("--auto-scaling-group-name", "auto-scaling-group"),
    ("--backup-vault-name", "backup-vault"), ("--project-name", "project"),
    ("--document-name", "document"), ("--stream-name", "stream"),
    ("--delivery-stream-name", "delivery-stream"), ("--domain-name", "domain"),
    ("--job-name", "job"), ("--pipeline-name", "pipeline"),
    ("--environment-name", "environment"), ("--application-name", "application"),
    ("--user-pool-id", "userpool"), ("--rest-api-id", "restapi"), ("--api-id", "api"),
    ("--task-definition", "task-definition"), ("--load-balancer-name", "loadbalancer"),
    ("--launch-template-name", "launch-template"), ("--workgroup", "workgroup"),
    ("--database", "database"), ("--database-name", "database"),
    ("--state-machine-name", "stateMachine"), ("--trail-name", "trail"),
    ("--distribution-id", "distribution"), ("--target", "instance"),
];

/// What a bare `--name`/`--id` names, per service.
#[rustfmt::skip]
const NAME_KIND: &[(&str, &str)] = &[
    ("eks", "cluster"), ("cloudtrail", "trail"), ("ssm", "parameter"), ("events", "rule"),
    ("secretsmanager", "secret"), ("es", "domain"), ("cloudfront", "distribution"),
    ("ecr", "repository"), ("codebuild", "project"), ("elasticloadbalancing", "loadbalancer"),
    ("states", "stateMachine"), ("glue", "resource"), ("route53", "hostedzone"),
    ("apigateway", "api"),
];

fn targets(rest: &[&str], g: &Globals, out: &mut Findings) {
    let service = rest.first().copied().unwrap_or("");
    let prefix = if service.is_empty() || service.starts_with('-') {
        String::new()
    } else {
        iam_prefix(service)
    };
    if prefix.is_empty() {
        return;
    }
    let params = rest.get(2..).unwrap_or(&[]);
    let base = Target {
        profile: g.profile.clone(),
        region: g.region.clone(),
        ..Target::default()
    };
    let mut found: Vec<Target> = Vec::new();
    let named = |kind: &str, name: &str| Target {
        kind: format!("aws:{prefix}:{kind}"),
        name: name.to_owned(),
        ..base.clone()
    };
    let s3_prefix = prefix == "s3";
    let key = if s3_prefix {
        value(params, "--key")
    } else {
        None
    };
    let mut i = 0;
    while let Some(&w) = params.get(i) {
        i += 1;
        if let Some(t) = arn_target(w, &base) {
            found.push(t);
            continue;
        }
        if let Some(t) = s3_url_targets(w, &base) {
            found.extend(t);
            continue;
        }
        if !w.starts_with("--") {
            if service == "logs" && rest.get(1) == Some(&"tail") && w.starts_with('/') {
                found.push(named("log-group", w));
            }
            continue;
        }
        // This option's own values: inline, or the words up to the next option
        // (scanning only those keeps hostile lines of many options linear).
        let (name, vals) = match w.split_once('=') {
            Some((n, v)) => (n, vec![v]),
            None => (
                w,
                params
                    .get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .take_while(|v| !v.starts_with("--"))
                    .copied()
                    .collect::<Vec<_>>(),
            ),
        };
        let kind = NAME_OPTIONS
            .iter()
            .find(|(o, _)| *o == name)
            .map(|(_, k)| *k)
            .or_else(|| {
                matches!(name, "--name" | "--id").then(|| {
                    NAME_KIND
                        .iter()
                        .find(|(p, _)| *p == prefix)
                        .map_or("", |(_, k)| *k)
                })
            });
        for val in &vals {
            if let Some(t) = arn_target(val, &base) {
                found.push(t);
            } else if name == "--queue-url" {
                found.push(queue_url(val, &base));
            } else if let Some(kind) = kind {
                if val.is_empty() || val.starts_with('{') || val.starts_with('[') {
                    continue;
                }
                if s3_prefix
                    && name == "--bucket"
                    && let Some(key) = key
                {
                    found.push(named("object", &format!("{val}/{key}")));
                }
                if kind.is_empty() {
                    found.push(Target {
                        kind: format!("aws:{prefix}"),
                        name: (*val).to_owned(),
                        ..base.clone()
                    });
                } else {
                    found.push(named(kind, val));
                }
            }
            // Only options known to take several values keep going.
            if !name.ends_with('s') {
                break;
            }
        }
    }
    if found.is_empty() {
        found.push(Target {
            kind: format!("aws:{prefix}"),
            ..base
        });
    }
    for t in found {
        out.target(t);
    }
}

/// `arn:partition:service:region:account:resource` → a target with the account and
/// region. The resource is `type/name…`, `type:name…` or a bare name.
fn arn_target(w: &str, base: &Target) -> Option<Target> {
    let rest = w.strip_prefix("arn:")?;
    let mut it = rest.splitn(5, ':');
    let _partition = it.next()?;
    let service = it.next()?;
    let region = it.next()?;
    let account = it.next()?;
    let resource = it.next()?;
    if service.is_empty() || resource.is_empty() {
        return None;
    }
    let (kind, name) = match service {
        "s3" => match resource.split_once('/') {
            Some((b, k)) if !k.is_empty() => ("object".to_owned(), format!("{b}/{k}")),
            _ => (
                "bucket".to_owned(),
                resource.trim_end_matches('/').to_owned(),
            ),
        },
        "sns" => ("topic".to_owned(), resource.to_owned()),
        "sqs" => ("queue".to_owned(), resource.to_owned()),
        _ => match resource.find(['/', ':']) {
            Some(i) => {
                let kind = resource.get(..i).unwrap_or("");
                let after = resource.get(i + 1..).unwrap_or("");
                let name = if resource.as_bytes().get(i) == Some(&b':') {
                    // `function:name:alias`, `log-group:/aws/x:*`.
                    after.split(':').next().unwrap_or(after)
                } else {
                    let mut segs = after.split('/');
                    match service {
                        // `role/path/name`, `service/cluster/name`: the last part.
                        "iam" | "ecs" => after.rsplit('/').next().unwrap_or(after),
                        // `loadbalancer/app/name/id`.
                        "elasticloadbalancing" => segs
                            .find(|s| !matches!(*s, "app" | "net" | "gwy"))
                            .unwrap_or(after),
                        // `parameter/path/to/name`: the whole path.
                        "ssm" if kind == "parameter" => after,
                        // `stack/name/uuid`, `table/name/stream/…`: the first part.
                        _ => segs.next().unwrap_or(after),
                    }
                };
                (kind.to_ascii_lowercase(), name.to_owned())
            }
            None => (String::new(), resource.to_owned()),
        },
    };
    let kind = if kind.is_empty() {
        format!("aws:{service}")
    } else {
        format!("aws:{service}:{kind}")
    };
    Some(Target {
        kind,
        name,
        account: (!account.is_empty())
            .then(|| account.to_owned())
            .or_else(|| base.account.clone()),
        region: (!region.is_empty())
            .then(|| region.to_owned())
            .or_else(|| base.region.clone()),
        ..base.clone()
    })
}

/// `s3://bucket/key` → the bucket, and the object when a key is given.
fn s3_url_targets(w: &str, base: &Target) -> Option<Vec<Target>> {
    let rest = w.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let mut v = vec![Target {
        kind: "aws:s3:bucket".into(),
        name: bucket.to_owned(),
        ..base.clone()
    }];
    if !key.is_empty() {
        v.push(Target {
            kind: "aws:s3:object".into(),
            name: format!("{bucket}/{key}"),
            ..base.clone()
        });
    }
    Some(v)
}

/// `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` → the queue.
fn queue_url(url: &str, base: &Target) -> Target {
    let path = url.split_once("://").map_or(url, |(_, r)| r);
    let mut parts = path.split('/');
    let host = parts.next().unwrap_or("");
    let account = parts.next().filter(|a| !a.is_empty());
    let name = parts.next().filter(|n| !n.is_empty());
    let region = host
        .strip_prefix("sqs.")
        .and_then(|h| h.split('.').next())
        .filter(|r| !r.is_empty());
    Target {
        kind: "aws:sqs:queue".into(),
        name: name.unwrap_or(url).to_owned(),
        account: account.map(str::to_owned).or_else(|| base.account.clone()),
        region: region.map(str::to_owned).or_else(|| base.region.clone()),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Findings {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"aws"), "{line}");
        classify(&words[1..])
    }

    fn effect(line: &str) -> Effect {
        run(line).effect()
    }

    #[test]
    fn kiro_stack_deletion() {
        let f = run(
            "aws cloudformation delete-stack --stack-name cost-explorer-prod --region cn-northwest-1",
        );
        assert_eq!(f.effect(), Delete);
        assert!(f.bulk());
        assert_eq!(
            f.parts[0].operation.as_deref(),
            Some("cloudformation:DeleteStack")
        );
        let t = &f.targets[0];
        assert_eq!(t.kind, "aws:cloudformation:stack");
        assert_eq!(t.name, "cost-explorer-prod");
        assert_eq!(t.region.as_deref(), Some("cn-northwest-1"));
    }

    #[test]
    fn s3_high_level() {
        let f = run("aws s3 rm s3://prod-uploads --recursive");
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert_eq!(f.targets[0].kind, "aws:s3:bucket");
        assert_eq!(f.targets[0].name, "prod-uploads");
        let f = run("aws s3 rm s3://prod-backups/db/x.gz");
        assert_eq!((f.effect(), f.bulk()), (Delete, false));
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "aws:s3:object" && t.name == "prod-backups/db/x.gz")
        );
        let f = run("aws s3 sync ./site s3://prod-site --delete");
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert_eq!(effect("aws s3 sync ./build s3://staging-site"), Write);
        let f = run("aws s3 rb s3://legacy --force");
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert!(!run("aws s3 rb s3://legacy").bulk());
        assert_eq!(effect("aws s3 ls s3://prod-assets/ --recursive"), Read);
        assert_eq!(effect("aws s3 cp s3://prod-logs/app.log -"), Read);
        assert_eq!(effect("aws s3 cp dist/a.zip s3://prod/a.zip"), Write);
        assert_eq!(effect("aws s3 mv s3://a/x s3://b/x"), Delete);
        assert_eq!(effect("aws s3 rm s3://prod --recursive --dryrun"), Read);
        assert_eq!(effect("aws s3 frobnicate s3://x"), Unknown);
    }

    #[test]
    fn permissions() {
        for line in [
            "aws iam attach-role-policy --role-name ci --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
            "aws iam delete-role-policy --role-name r --policy-name deny-delete",
            "aws iam create-access-key --user-name ci-bot",
            "aws iam delete-user --user-name ci-deployer",
            "aws s3api put-bucket-policy --bucket b --policy file://p.json",
            "aws s3api delete-public-access-block --bucket b",
            "aws ec2 authorize-security-group-ingress --group-id sg-1 --protocol tcp --port 22 --cidr 0.0.0.0/0",
            "aws ec2 revoke-security-group-egress --group-id sg-1",
            "aws lambda add-permission --function-name f --statement-id s --action lambda:InvokeFunction --principal *",
            "aws kms create-grant --key-id k --grantee-principal arn:aws:iam::1:role/a --operations Decrypt",
            "aws rds modify-db-instance --db-instance-identifier db --master-user-password x",
            "aws sqs set-queue-attributes --queue-url https://sqs.us-east-1.amazonaws.com/1/q --attributes Policy=x",
            "aws organizations attach-policy --policy-id p-1 --target-id ou-1",
        ] {
            assert_eq!(effect(line), Permissions, "{line}");
        }
        let f = run(
            "aws iam attach-role-policy --role-name ci --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        );
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "aws:iam:role" && t.name == "ci")
        );
        assert!(f.targets.iter().any(|t| t.kind == "aws:iam:policy"
            && t.name == "AdministratorAccess"
            && t.account.as_deref() == Some("aws")));
    }

    #[test]
    fn global_options_anywhere() {
        let f = run(
            "aws --profile prod --region eu-west-1 rds delete-db-instance --db-instance-identifier x",
        );
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert_eq!(
            f.parts[0].operation.as_deref(),
            Some("rds:DeleteDBInstance")
        );
        let t = &f.targets[0];
        assert_eq!((t.kind.as_str(), t.name.as_str()), ("aws:rds:db", "x"));
        assert_eq!(t.profile.as_deref(), Some("prod"));
        assert_eq!(t.region.as_deref(), Some("eu-west-1"));
        let f = run("aws ec2 --output json describe-instances --profile=stg --no-cli-pager");
        assert_eq!(f.effect(), Read);
        assert_eq!(f.targets[0].kind, "aws:ec2");
        assert_eq!(f.targets[0].profile.as_deref(), Some("stg"));
    }

    #[test]
    fn destructive_verbs_on_top_of_write() {
        let f = run("aws ec2 terminate-instances --instance-ids i-1 i-2");
        assert_eq!((f.effect(), f.bulk()), (Delete, false));
        assert_eq!(f.targets.len(), 2);
        assert_eq!(effect("aws ec2 stop-instances --instance-ids i-1"), Write);
        assert_eq!(effect("aws kms disable-key --key-id k"), Write);
        assert_eq!(effect("aws ec2 detach-volume --volume-id v"), Write);
        assert_eq!(effect("aws ec2 release-address --allocation-id e"), Delete);
        assert_eq!(
            effect("aws ecr batch-delete-image --repository-name api --image-ids imageTag=x"),
            Delete
        );
        assert_eq!(
            effect("aws sqs purge-queue --queue-url https://sqs.eu-west-1.amazonaws.com/123/q"),
            Delete
        );
        assert_eq!(effect("aws kms schedule-key-deletion --key-id k"), Delete);
        assert_eq!(
            effect("aws cognito-idp admin-delete-user --user-pool-id p --username u"),
            Delete
        );
        assert_eq!(
            effect("aws ec2 delete-tags --resources i-1 --tags Key=env"),
            Write
        );
        let f = run("aws s3api delete-objects --bucket prod-logs --delete file://keys.json");
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        let f = run("aws ecr delete-repository --repository-name api --force");
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
    }

    #[test]
    fn content_decides() {
        assert_eq!(
            effect("aws ecs update-service --cluster prod --service api --desired-count 0"),
            Delete
        );
        assert_eq!(
            effect("aws ecs update-service --cluster prod --service api --desired-count 2"),
            Write
        );
        assert_eq!(
            effect(
                "aws autoscaling set-desired-capacity --auto-scaling-group-name w --desired-capacity 0"
            ),
            Delete
        );
        let del = r#"{"Changes":[{"Action":"DELETE","ResourceRecordSet":{}}]}"#;
        let up = r#"{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{}}]}"#;
        for (doc, want) in [(del, Delete), (up, Write), ("file://c.json", Write)] {
            let f = classify(&[
                "route53",
                "change-resource-record-sets",
                "--hosted-zone-id",
                "Z1",
                "--change-batch",
                doc,
            ]);
            assert_eq!(f.effect(), want, "{doc}");
        }
        let f = classify(&[
            "dynamodb",
            "batch-write-item",
            "--request-items",
            r#"{"t":[{"DeleteRequest":{"Key":{}}}]}"#,
        ]);
        assert_eq!(f.effect(), Delete);
        assert_eq!(
            effect("aws ec2 terminate-instances --instance-ids i-1 --dry-run"),
            Read
        );
    }

    #[test]
    fn runs_code_is_unknown() {
        for line in [
            "aws lambda invoke --function-name f out.json",
            "aws ssm start-session --target i-1",
            "aws stepfunctions start-execution --state-machine-arn arn:aws:states:us-east-1:1:stateMachine:x",
            "aws codebuild start-build --project-name p",
            "aws ecs execute-command --cluster c --task t --interactive --command sh",
            "aws ssm send-command --document-name AWS-ApplyPatchBaseline --instance-ids i-1",
            "aws ssm send-command --document-name AWS-RunShellScript --parameters file://p.json",
        ] {
            assert_eq!(effect(line), Unknown, "{line}");
        }
        let f = run(
            "aws stepfunctions start-execution --state-machine-arn arn:aws:states:us-east-1:123:stateMachine:prod-teardown",
        );
        let t = &f.targets[0];
        assert_eq!(t.kind, "aws:states:statemachine");
        assert_eq!(t.name, "prod-teardown");
        assert_eq!(t.account.as_deref(), Some("123"));
        assert_eq!(t.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn ssm_send_command_classifies_the_commands() {
        let f = classify(&[
            "ssm",
            "send-command",
            "--document-name",
            "AWS-RunShellScript",
            "--targets",
            "Key=tag:env,Values=prod",
            "--parameters",
            r#"commands=["rm -rf /var/app/cache/*"]"#,
        ]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert!(f.targets.iter().all(|t| t.kind != "file"));
        let f = classify(&[
            "ssm",
            "send-command",
            "--document-name",
            "AWS-RunShellScript",
            "--instance-ids",
            "i-1",
            "--parameters",
            r#"{"commands":["uptime","df -h"]}"#,
        ]);
        assert_eq!((f.effect(), f.bulk()), (Read, false));
        assert_eq!(
            shell_commands("commands=ls,pwd"),
            Some(vec!["ls".into(), "pwd".into()])
        );
    }

    #[test]
    fn sql_bearing_operations() {
        let f = classify(&[
            "athena",
            "start-query-execution",
            "--query-string",
            "DROP TABLE prod.events",
        ]);
        assert_eq!(f.effect(), Delete);
        let f = classify(&[
            "redshift-data",
            "execute-statement",
            "--sql",
            "SELECT 1",
            "--cluster-identifier",
            "c",
        ]);
        assert_eq!(f.effect(), Read);
        assert_eq!(
            effect(
                "aws rds-data execute-statement --resource-arn arn:aws:rds:us-east-1:1:cluster:c"
            ),
            Unknown
        );
    }

    #[test]
    fn reads_and_local_commands() {
        for line in [
            "aws sts get-caller-identity",
            "aws sts assume-role --role-arn arn:aws:iam::1:role/r --role-session-name a",
            "aws help",
            "aws --version",
            "aws ec2 help",
            "aws s3 cp help",
            "aws configure list",
            "aws logs tail /aws/lambda/x --follow",
            "aws s3api list-objects-v2 --bucket b",
            "aws s3api head-object --bucket b --key k",
            "aws ec2 wait instance-running --instance-ids i-1",
            "aws ecr get-login-password",
            "aws kms decrypt --ciphertext-blob fileb://x",
            "aws cloudformation delete-stack --stack-name x --generate-cli-skeleton",
            "aws apigateway get-rest-apis",
        ] {
            assert_eq!(effect(line), Read, "{line}");
        }
        assert_eq!(effect("aws configure set region eu-west-1"), Write);
        assert_eq!(effect("aws eks update-kubeconfig --name prod-eks"), Write);
        assert_eq!(
            effect("aws cloudformation deploy --template-file t.yaml --stack-name s"),
            Write
        );
        assert_eq!(
            effect("aws apigateway delete-rest-api --rest-api-id a"),
            Delete
        );
    }

    #[test]
    fn unknowns() {
        assert_eq!(classify(&[]).effect(), Unknown);
        assert_eq!(effect("aws ec2 frobnicate-widgets --x y"), Unknown);
        assert_eq!(effect("aws nosuchservice do-things"), Unknown);
        assert_eq!(effect("aws --weird-flag s3 ls"), Unknown);
        assert_eq!(effect("aws s3 rm s3://b/x --cli-auto-prompt"), Unknown);
    }

    #[test]
    fn computed_resource_lists_are_bulk() {
        let f = classify(&[
            "--profile",
            "default",
            "ec2",
            "terminate-instances",
            "--instance-ids",
            "$(aws ec2 describe-instances --query x)",
        ]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        let f = classify(&["s3", "rm", "s3://prod-logs/{}", "<stdin items>"]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
    }

    #[test]
    fn targets_from_urls_and_arns() {
        let f = run(
            "aws sqs delete-queue --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/prod-orders",
        );
        let t = &f.targets[0];
        assert_eq!(
            (t.kind.as_str(), t.name.as_str()),
            ("aws:sqs:queue", "prod-orders")
        );
        assert_eq!(t.account.as_deref(), Some("123456789012"));
        assert_eq!(t.region.as_deref(), Some("eu-west-1"));
        let f = run("aws s3api get-object --bucket b --key a/b.txt out.txt");
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "aws:s3:object" && t.name == "b/a/b.txt")
        );
        let f = run(
            "aws lambda get-function --function-name arn:aws:lambda:us-east-1:1:function:prod-auth:live",
        );
        assert_eq!(f.targets[0].kind, "aws:lambda:function");
        assert_eq!(f.targets[0].name, "prod-auth");
    }

    #[test]
    fn arn_names() {
        let base = Target::default();
        for (arn, kind, name) in [
            (
                "arn:aws:cloudformation:us-east-1:1:stack/prod-api/0a1b",
                "aws:cloudformation:stack",
                "prod-api",
            ),
            (
                "arn:aws:iam::1:role/service-role/prod-x",
                "aws:iam:role",
                "prod-x",
            ),
            (
                "arn:aws:ecs:us-east-1:1:service/prod/api",
                "aws:ecs:service",
                "api",
            ),
            (
                "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/prod-alb/abc",
                "aws:elasticloadbalancing:loadbalancer",
                "prod-alb",
            ),
            (
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x:*",
                "aws:logs:log-group",
                "/aws/lambda/x",
            ),
            (
                "arn:aws:s3:::prod-assets/a/b",
                "aws:s3:object",
                "prod-assets/a/b",
            ),
            (
                "arn:aws:sns:us-east-1:1:prod-alerts",
                "aws:sns:topic",
                "prod-alerts",
            ),
            (
                "arn:aws:ssm:us-east-1:1:parameter/prod/db/url",
                "aws:ssm:parameter",
                "prod/db/url",
            ),
        ] {
            let t = arn_target(arn, &base).unwrap_or_default();
            assert_eq!((t.kind.as_str(), t.name.as_str()), (kind, name), "{arn}");
        }
        assert!(arn_target("arn:aws:s3", &base).is_none());
    }

    #[test]
    fn hostile_input_never_panics() {
        let long = "a".repeat(10_000);
        for args in [
            vec!["--profile"],
            vec!["--region="],
            vec!["s3"],
            vec!["s3", "rm"],
            vec!["s3", "cp", "s3://"],
            vec!["ec2", "-"],
            vec!["ec2", "terminate-instances", "--instance-ids"],
            vec![
                "x",
                "arn:",
                "arn:aws:::::",
                "arn:aws:s3:::",
                "--queue-url",
                "https://",
            ],
            vec!["é", "é-é", "--é=é"],
            vec![
                "ssm",
                "send-command",
                "--document-name",
                "AWS-RunShellScript",
                "--parameters",
                "commands=[",
            ],
            vec![long.as_str(), long.as_str()],
        ] {
            let _ = classify(&args);
        }
        // Many options stay linear.
        let many: Vec<&str> = ["s3api", "get-object"]
            .into_iter()
            .chain(std::iter::repeat_n(["--bucket", "b"], 50_000).flatten())
            .collect();
        assert_eq!(classify(&many).effect(), Read);
        // Nested remote scripts are bounded.
        let mut cmd = "rm -rf /".to_owned();
        for _ in 0..8 {
            let json = serde_json::to_string(&serde_json::json!({ "commands": [cmd] }))
                .unwrap_or_default();
            cmd = format!(
                "aws ssm send-command --document-name AWS-RunShellScript --parameters '{}'",
                json.replace('\'', "'\\''")
            );
        }
        let f = crate::shell::classify(&cmd);
        assert_eq!(f.effect(), Unknown);
    }
}
