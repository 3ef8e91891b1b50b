//! The world the generated policies talk about: environments, zones, application
//! services, and a catalog of real tool operations (AWS API calls, kubectl, bash, git)
//! with the effect a classifier gives each.

use airlock_model::Effect;

/// Environments, most sensitive first, with the name patterns that place a target.
/// Dev also takes files inside the agent's working directory.
pub const ENVS: [(&str, &[&str]); 3] = [
    ("production", &["prod-*", "*-prod"]),
    ("staging", &["stg-*", "*-stg"]),
    ("dev", &["dev-*", "*-dev"]),
];

/// Environment as an index into [`ENVS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Env {
    Production = 0,
    Staging = 1,
    Dev = 2,
}

impl Env {
    pub const ALL: [Env; 3] = [Env::Production, Env::Staging, Env::Dev];

    pub fn name(self) -> &'static str {
        ENVS[self as usize].0
    }

    /// The name prefix that places a target here (`""` places nowhere: unplaced).
    pub fn prefix(self) -> &'static str {
        match self {
            Env::Production => "prod-",
            Env::Staging => "stg-",
            Env::Dev => "dev-",
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            Env::Production => "-prod",
            Env::Staging => "-stg",
            Env::Dev => "-dev",
        }
    }
}

/// Zones, tried in order, with their plane and the target kinds they take.
pub const ZONES: [(&str, Option<&str>, &[&str]); 5] = [
    (
        "management-plane",
        Some("control"),
        &[
            "aws:cloudformation:*",
            "aws:iam:*",
            "aws:kms:*",
            "aws:secretsmanager:*",
            "k8s:namespace",
        ],
    ),
    (
        "network",
        Some("control"),
        &[
            "aws:route53:*",
            "aws:elasticloadbalancing:*",
            "aws:apigateway:*",
        ],
    ),
    (
        "data-plane",
        Some("data"),
        &[
            "aws:s3:*",
            "aws:dynamodb:*",
            "aws:rds:*",
            "aws:elasticache:*",
            "aws:kinesis:*",
            "aws:sqs:*",
            "aws:sns:*",
            "aws:glue:*",
            "aws:athena:*",
            "db:*",
        ],
    ),
    (
        "compute",
        None,
        &[
            "aws:ec2:*",
            "aws:lambda:*",
            "aws:ecs:*",
            "aws:eks:*",
            "aws:ecr:*",
            "aws:states:*",
            "aws:sagemaker:*",
            "aws:elasticbeanstalk:*",
            "k8s:*",
        ],
    ),
    ("observability", None, &["aws:cloudwatch:*", "aws:logs:*"]),
];

pub const ZONE_MANAGEMENT: usize = 0;
pub const ZONE_NETWORK: usize = 1;
pub const ZONE_DATA: usize = 2;
pub const ZONE_OBSERVABILITY: usize = 4;

/// Words application services are named from (`billing-0`, `search-3`, ...).
pub const SERVICE_WORDS: [&str; 24] = [
    "billing",
    "payments",
    "checkout",
    "search",
    "catalog",
    "orders",
    "inventory",
    "shipping",
    "identity",
    "notifications",
    "analytics",
    "recommendations",
    "pricing",
    "ledger",
    "reports",
    "media",
    "chat",
    "fraud",
    "loyalty",
    "support",
    "onboarding",
    "scheduler",
    "gateway",
    "exports",
];

use Effect::{Delete as D, Permissions as P, Read as R, Write as W};

/// An AWS service: its prefix in operation names, its target kind, its operations.
pub type AwsService = (
    &'static str,
    &'static str,
    &'static [(&'static str, Effect)],
);

/// AWS services: the service prefix of the operation, the target kind, and the
/// operations with their effect.
pub const AWS: &[AwsService] = &[
    (
        "ec2",
        "aws:ec2:instance",
        &[
            ("DescribeInstances", R),
            ("DescribeVolumes", R),
            ("DescribeImages", R),
            ("RunInstances", W),
            ("StartInstances", W),
            ("StopInstances", W),
            ("RebootInstances", W),
            ("CreateTags", W),
            ("ModifyInstanceAttribute", W),
            ("CreateSnapshot", W),
            ("TerminateInstances", D),
            ("DeleteVolume", D),
            ("DeleteSnapshot", D),
            ("AuthorizeSecurityGroupIngress", P),
        ],
    ),
    (
        "s3",
        "aws:s3:bucket",
        &[
            ("ListBuckets", R),
            ("GetObject", R),
            ("ListObjectsV2", R),
            ("HeadObject", R),
            ("PutObject", W),
            ("CopyObject", W),
            ("PutBucketVersioning", W),
            ("PutBucketLifecycleConfiguration", W),
            ("DeleteObject", D),
            ("DeleteObjects", D),
            ("DeleteBucket", D),
            ("PutBucketPolicy", P),
            ("PutBucketAcl", P),
        ],
    ),
    (
        "lambda",
        "aws:lambda:function",
        &[
            ("GetFunction", R),
            ("ListFunctions", R),
            ("InvokeFunction", W),
            ("UpdateFunctionCode", W),
            ("UpdateFunctionConfiguration", W),
            ("PublishVersion", W),
            ("CreateFunction", W),
            ("DeleteFunction", D),
            ("AddPermission", P),
        ],
    ),
    (
        "dynamodb",
        "aws:dynamodb:table",
        &[
            ("GetItem", R),
            ("Query", R),
            ("Scan", R),
            ("DescribeTable", R),
            ("PutItem", W),
            ("UpdateItem", W),
            ("BatchWriteItem", W),
            ("UpdateTable", W),
            ("CreateTable", W),
            ("DeleteItem", D),
            ("DeleteTable", D),
        ],
    ),
    (
        "rds",
        "aws:rds:db",
        &[
            ("DescribeDBInstances", R),
            ("DescribeDBSnapshots", R),
            ("CreateDBSnapshot", W),
            ("ModifyDBInstance", W),
            ("RebootDBInstance", W),
            ("RestoreDBInstanceFromDBSnapshot", W),
            ("CreateDBInstance", W),
            ("DeleteDBInstance", D),
            ("DeleteDBSnapshot", D),
        ],
    ),
    (
        "iam",
        "aws:iam:role",
        &[
            ("GetRole", R),
            ("ListRoles", R),
            ("ListPolicies", R),
            ("TagRole", W),
            ("UpdateRoleDescription", W),
            ("AttachRolePolicy", P),
            ("PutRolePolicy", P),
            ("CreateAccessKey", P),
            ("DeleteRole", D),
        ],
    ),
    (
        "cloudformation",
        "aws:cloudformation:stack",
        &[
            ("DescribeStacks", R),
            ("ListStacks", R),
            ("GetTemplate", R),
            ("CreateStack", W),
            ("UpdateStack", W),
            ("CreateChangeSet", W),
            ("ExecuteChangeSet", W),
            ("DeleteStack", D),
            ("DeleteStackSet", D),
            ("DeleteChangeSet", D),
        ],
    ),
    (
        "sqs",
        "aws:sqs:queue",
        &[
            ("ReceiveMessage", R),
            ("GetQueueAttributes", R),
            ("SendMessage", W),
            ("CreateQueue", W),
            ("SetQueueAttributes", W),
            ("PurgeQueue", D),
            ("DeleteMessage", D),
            ("DeleteQueue", D),
        ],
    ),
    (
        "sns",
        "aws:sns:topic",
        &[
            ("ListTopics", R),
            ("GetTopicAttributes", R),
            ("Publish", W),
            ("CreateTopic", W),
            ("Subscribe", W),
            ("Unsubscribe", D),
            ("DeleteTopic", D),
        ],
    ),
    (
        "ecs",
        "aws:ecs:service",
        &[
            ("DescribeServices", R),
            ("ListTasks", R),
            ("UpdateService", W),
            ("RunTask", W),
            ("StopTask", W),
            ("RegisterTaskDefinition", W),
            ("CreateService", W),
            ("DeleteService", D),
            ("DeregisterTaskDefinition", D),
        ],
    ),
    (
        "eks",
        "aws:eks:cluster",
        &[
            ("DescribeCluster", R),
            ("ListNodegroups", R),
            ("UpdateNodegroupConfig", W),
            ("UpdateClusterVersion", W),
            ("CreateNodegroup", W),
            ("DeleteNodegroup", D),
            ("DeleteCluster", D),
        ],
    ),
    (
        "kms",
        "aws:kms:key",
        &[
            ("DescribeKey", R),
            ("ListKeys", R),
            ("Decrypt", R),
            ("GenerateDataKey", R),
            ("CreateKey", W),
            ("EnableKeyRotation", W),
            ("ScheduleKeyDeletion", D),
            ("DisableKey", D),
            ("CreateGrant", P),
            ("PutKeyPolicy", P),
        ],
    ),
    (
        "secretsmanager",
        "aws:secretsmanager:secret",
        &[
            ("GetSecretValue", R),
            ("ListSecrets", R),
            ("DescribeSecret", R),
            ("PutSecretValue", W),
            ("UpdateSecret", W),
            ("RotateSecret", W),
            ("CreateSecret", W),
            ("DeleteSecret", D),
            ("PutResourcePolicy", P),
        ],
    ),
    (
        "route53",
        "aws:route53:hostedzone",
        &[
            ("ListHostedZones", R),
            ("ListResourceRecordSets", R),
            ("ChangeResourceRecordSets", W),
            ("CreateHostedZone", W),
            ("DeleteHostedZone", D),
        ],
    ),
    (
        "elasticloadbalancing",
        "aws:elasticloadbalancing:loadbalancer",
        &[
            ("DescribeLoadBalancers", R),
            ("DescribeTargetHealth", R),
            ("RegisterTargets", W),
            ("DeregisterTargets", W),
            ("ModifyListener", W),
            ("CreateLoadBalancer", W),
            ("DeleteLoadBalancer", D),
        ],
    ),
    (
        "cloudwatch",
        "aws:cloudwatch:alarm",
        &[
            ("DescribeAlarms", R),
            ("GetMetricData", R),
            ("PutMetricAlarm", W),
            ("PutDashboard", W),
            ("SetAlarmState", W),
            ("DeleteAlarms", D),
            ("DeleteDashboards", D),
        ],
    ),
    (
        "logs",
        "aws:logs:loggroup",
        &[
            ("FilterLogEvents", R),
            ("GetLogEvents", R),
            ("DescribeLogGroups", R),
            ("PutRetentionPolicy", W),
            ("CreateLogGroup", W),
            ("PutSubscriptionFilter", W),
            ("DeleteLogGroup", D),
            ("DeleteRetentionPolicy", D),
        ],
    ),
    (
        "ecr",
        "aws:ecr:repository",
        &[
            ("DescribeImages", R),
            ("ListImages", R),
            ("BatchGetImage", R),
            ("PutImage", W),
            ("CreateRepository", W),
            ("PutLifecyclePolicy", W),
            ("BatchDeleteImage", D),
            ("DeleteRepository", D),
            ("SetRepositoryPolicy", P),
        ],
    ),
    (
        "elasticache",
        "aws:elasticache:cluster",
        &[
            ("DescribeCacheClusters", R),
            ("ModifyCacheCluster", W),
            ("RebootCacheCluster", W),
            ("CreateCacheCluster", W),
            ("CreateSnapshot", W),
            ("DeleteCacheCluster", D),
            ("DeleteSnapshot", D),
        ],
    ),
    (
        "kinesis",
        "aws:kinesis:stream",
        &[
            ("DescribeStream", R),
            ("GetRecords", R),
            ("ListShards", R),
            ("PutRecord", W),
            ("PutRecords", W),
            ("UpdateShardCount", W),
            ("CreateStream", W),
            ("DeleteStream", D),
        ],
    ),
    (
        "glue",
        "aws:glue:job",
        &[
            ("GetJob", R),
            ("GetTables", R),
            ("StartJobRun", W),
            ("UpdateJob", W),
            ("CreateJob", W),
            ("CreateTable", W),
            ("DeleteJob", D),
            ("DeleteTable", D),
        ],
    ),
    (
        "athena",
        "aws:athena:workgroup",
        &[
            ("GetQueryResults", R),
            ("ListWorkGroups", R),
            ("StartQueryExecution", W),
            ("UpdateWorkGroup", W),
            ("CreateWorkGroup", W),
            ("DeleteWorkGroup", D),
        ],
    ),
    (
        "sagemaker",
        "aws:sagemaker:endpoint",
        &[
            ("DescribeEndpoint", R),
            ("ListModels", R),
            ("CreateModel", W),
            ("CreateEndpoint", W),
            ("UpdateEndpoint", W),
            ("CreateTrainingJob", W),
            ("DeleteEndpoint", D),
            ("DeleteModel", D),
        ],
    ),
    (
        "states",
        "aws:states:statemachine",
        &[
            ("DescribeExecution", R),
            ("ListStateMachines", R),
            ("StartExecution", W),
            ("UpdateStateMachine", W),
            ("StopExecution", W),
            ("CreateStateMachine", W),
            ("DeleteStateMachine", D),
        ],
    ),
    (
        "apigateway",
        "aws:apigateway:restapi",
        &[
            ("GetRestApis", R),
            ("GetStages", R),
            ("CreateDeployment", W),
            ("UpdateStage", W),
            ("PutMethod", W),
            ("CreateRestApi", W),
            ("DeleteStage", D),
            ("DeleteRestApi", D),
        ],
    ),
    (
        "elasticbeanstalk",
        "aws:elasticbeanstalk:environment",
        &[
            ("DescribeEnvironments", R),
            ("UpdateEnvironment", W),
            ("CreateEnvironment", W),
            ("TerminateEnvironment", D),
        ],
    ),
];

/// kubectl verbs (the operation is the verb; targets are deployments).
pub const KUBECTL: &[(&str, Effect)] = &[
    ("get", R),
    ("describe", R),
    ("logs", R),
    ("apply", W),
    ("scale", W),
    ("rollout-restart", W),
    ("patch", W),
    ("delete", D),
];

/// Operations the global teardown rule denies (`*:DeleteStack`, ...): never used by
/// the generated per-team or per-operation rules, which that rule would shadow.
pub const TEARDOWN_OPS: [&str; 4] = [
    "*:DeleteStack",
    "*:DeleteStackSet",
    "*:DeleteEnvironment",
    "*:TerminateEnvironment",
];

/// One operation of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpDef {
    pub tool: &'static str,
    /// The AWS service (`s3`), or the tool for non-AWS operations.
    pub service: &'static str,
    /// As an agent would send it: `ec2:TerminateInstances`, `apply`.
    pub op: String,
    pub effect: Effect,
    /// The kind of target it acts on.
    pub kind: &'static str,
    /// Whether the global teardown rule covers it.
    pub teardown: bool,
}

/// The whole catalog, in a fixed order.
pub fn catalog() -> Vec<OpDef> {
    let mut out = Vec::new();
    for (svc, kind, ops) in AWS {
        for (name, effect) in *ops {
            let teardown = TEARDOWN_OPS
                .iter()
                .any(|p| p.strip_prefix("*:") == Some(*name));
            out.push(OpDef {
                tool: "aws",
                service: svc,
                op: format!("{svc}:{name}"),
                effect: *effect,
                kind,
                teardown,
            });
        }
    }
    for (verb, effect) in KUBECTL {
        out.push(OpDef {
            tool: "kubectl",
            service: "kubectl",
            op: (*verb).to_owned(),
            effect: *effect,
            kind: "k8s:deployment",
            teardown: false,
        });
    }
    // Coding-agent file work, placed in dev through the working directory.
    for (tool, op, effect) in [
        ("bash", "cat", R),
        ("bash", "grep", R),
        ("bash", "write", W),
        ("bash", "sed", W),
        ("bash", "rm", D),
        ("git", "status", R),
        ("git", "diff", R),
        ("git", "commit", W),
    ] {
        out.push(OpDef {
            tool,
            service: tool,
            op: op.to_owned(),
            effect,
            kind: "file",
            teardown: false,
        });
    }
    out
}

/// `*` globs as the generated policy uses them: a leading or trailing `*`, or none.
/// Case-sensitive (the kinds and names generated are lowercase or exact).
pub fn simple_glob(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(p) = pattern.strip_suffix('*') {
        text.starts_with(p)
    } else if let Some(s) = pattern.strip_prefix('*') {
        text.ends_with(s)
    } else {
        pattern == text
    }
}

/// The zone a target kind is placed in, as the generated policy declares it.
pub fn zone_of_kind(kind: &str) -> Option<usize> {
    ZONES
        .iter()
        .position(|(_, _, kinds)| kinds.iter().any(|p| simple_glob(p, kind)))
}

/// The environment a target is placed in, as the generated policy declares it: the
/// first environment with a matching name pattern; files with a relative path
/// (without `..`) are in dev; anything else is unplaced, i.e. production.
pub fn env_of_target(kind: &str, name: &str) -> Env {
    for (i, (_, patterns)) in ENVS.iter().enumerate() {
        let by_name = patterns.iter().any(|p| simple_glob(p, name));
        let by_workdir = i == Env::Dev as usize
            && kind == "file"
            && !name.is_empty()
            && !name.starts_with('/')
            && !name.starts_with('~')
            && !name.split('/').any(|c| c == "..");
        if by_name || by_workdir {
            return Env::ALL[i];
        }
    }
    Env::Production
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_consistent() {
        let c = catalog();
        assert!(c.len() > 200, "{}", c.len());
        for op in &c {
            if op.tool == "aws" {
                assert!(zone_of_kind(op.kind).is_some(), "{op:?} has no zone");
            }
        }
        assert_eq!(c.iter().filter(|o| o.teardown).count(), 3);
    }

    #[test]
    fn placement_follows_declaration_order() {
        assert_eq!(env_of_target("aws:s3:bucket", "prod-x"), Env::Production);
        assert_eq!(
            env_of_target("aws:s3:bucket", "stg-x-prod"),
            Env::Production
        );
        assert_eq!(env_of_target("aws:s3:bucket", "x-stg"), Env::Staging);
        assert_eq!(env_of_target("file", "src/lib.rs"), Env::Dev);
        assert_eq!(env_of_target("file", "/etc/hosts"), Env::Production);
        assert_eq!(env_of_target("aws:s3:bucket", "x"), Env::Production);
        assert_eq!(zone_of_kind("aws:iam:role"), Some(ZONE_MANAGEMENT));
        assert_eq!(zone_of_kind("k8s:deployment"), Some(3));
        assert_eq!(zone_of_kind("file"), None);
    }
}
