//! Generated Terraform plans (`terraform show -json` format 1.2) for the classifier
//! benchmark: N AWS, Kubernetes and Google resources in a root module and two child
//! modules, with the mix of actions a large real plan has, full `before` / `after`
//! values, `planned_values`, and a provider configuration. Written as text, without a
//! JSON library, with the deterministic [`Rng`].

use std::fmt::Write;

use crate::rng::{Rng, SEED};

/// What a generated plan holds, for checking the classifier's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanCounts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub replace: usize,
    pub no_op: usize,
}

impl PlanCounts {
    /// Managed resources the plan changes (what `Findings::resources` counts).
    pub fn changed(&self) -> usize {
        self.create + self.update + self.delete + self.replace
    }
}

/// (resource type, a few attributes written as JSON members)
const TYPES: &[(&str, &str)] = &[
    (
        "aws_instance",
        r#""ami":"ami-0c55b159cbfafe1f0","instance_type":"t3.medium","subnet_id":"subnet-0a1b2c3d","vpc_security_group_ids":["sg-0123456789abcdef0"],"ebs_optimized":true,"monitoring":false,"root_block_device":[{"volume_size":50,"volume_type":"gp3","encrypted":true,"delete_on_termination":true}]"#,
    ),
    (
        "aws_s3_bucket",
        r#""bucket_prefix":null,"force_destroy":false,"object_lock_enabled":false,"versioning":[{"enabled":true,"mfa_delete":false}]"#,
    ),
    (
        "aws_security_group_rule",
        r#""type":"ingress","from_port":443,"to_port":443,"protocol":"tcp","cidr_blocks":["10.0.0.0/16"],"security_group_id":"sg-0123456789abcdef0","self":false"#,
    ),
    (
        "aws_iam_role_policy",
        r#""role":"app-runtime","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"*\"}]}""#,
    ),
    (
        "aws_db_instance",
        r#""engine":"postgres","engine_version":"16.3","instance_class":"db.r6g.large","allocated_storage":200,"multi_az":true,"deletion_protection":true,"skip_final_snapshot":false,"backup_retention_period":7"#,
    ),
    (
        "aws_lambda_function",
        r#""function_name":"handler","runtime":"python3.12","handler":"app.handler","memory_size":512,"timeout":30,"environment":[{"variables":{"STAGE":"prod","LOG_LEVEL":"info"}}]"#,
    ),
    (
        "aws_route53_record",
        r#""zone_id":"Z0123456789ABCDEFGHIJ","type":"CNAME","ttl":300,"records":["lb-123.us-east-1.elb.amazonaws.com"]"#,
    ),
    (
        "kubernetes_deployment",
        r#""metadata":[{"namespace":"prod","labels":{"app":"web"},"annotations":{}}],"spec":[{"replicas":"3","selector":[{"match_labels":{"app":"web"}}],"template":[{"spec":[{"container":[{"image":"nginx:1.27","name":"web"}]}]}]}]"#,
    ),
    (
        "google_compute_instance",
        r#""project":"acme-prod","zone":"us-central1-a","machine_type":"e2-standard-4","can_ip_forward":false,"labels":{"team":"platform"}"#,
    ),
];

const NAMES: &[&str] = &[
    "web", "api", "worker", "cache", "logs", "assets", "billing", "search", "auth", "queue",
];

const MODULES: &[&str] = &["", "module.network.", "module.data."];

/// A plan of `resources` resource changes: about 45% create, 25% update, 10% delete,
/// 10% replace (both orders) and 10% no-op.
pub fn plan_json(resources: usize) -> (String, PlanCounts) {
    let mut rng = Rng::derive(SEED, "plans");
    let mut counts = PlanCounts::default();
    let mut changes = String::with_capacity(resources * 2_000);
    let mut planned = String::with_capacity(resources * 600);
    let mut config = String::new();
    for i in 0..resources {
        let (rtype, attrs) = *rng.pick(TYPES);
        let module = *rng.pick(MODULES);
        let name = rng.pick(NAMES);
        let address = format!("{module}{rtype}.{name}[{i}]");
        let region = *rng.pick(&["us-east-1", "eu-west-1", "us-west-2"]);
        let id = format!("{name}-{:012x}", rng.next_u64() & 0xffff_ffff_ffff);
        let arn = format!(
            "arn:aws:{}:{region}:123456789012:{id}",
            rtype.trim_start_matches("aws_")
        );
        let values = format!(
            r#"{{"id":"{id}","arn":"{arn}","region":"{region}",{attrs},"tags":{{"Name":"{name}","env":"prod","owner":"team-{t}"}},"tags_all":{{"Name":"{name}","env":"prod","owner":"team-{t}","managed-by":"terraform"}}}}"#,
            t = i % 17
        );
        let roll = rng.below(100);
        let (actions, before, after) = match roll {
            0..45 => {
                counts.create += 1;
                (r#"["create"]"#, "null".to_string(), values.clone())
            }
            45..70 => {
                counts.update += 1;
                let after = values.replace(r#""env":"prod""#, r#""env":"production""#);
                (r#"["update"]"#, values.clone(), after)
            }
            70..80 => {
                counts.delete += 1;
                (r#"["delete"]"#, values.clone(), "null".to_string())
            }
            80..85 => {
                counts.replace += 1;
                (r#"["delete","create"]"#, values.clone(), values.clone())
            }
            85..90 => {
                counts.replace += 1;
                (r#"["create","delete"]"#, values.clone(), values.clone())
            }
            _ => {
                counts.no_op += 1;
                (r#"["no-op"]"#, values.clone(), values.clone())
            }
        };
        if !changes.is_empty() {
            changes.push(',');
        }
        let module_address = if module.is_empty() {
            String::new()
        } else {
            format!(r#""module_address":"{}","#, module.trim_end_matches('.'))
        };
        let _ = write!(
            changes,
            r#"{{"address":"{address}",{module_address}"mode":"managed","type":"{rtype}","name":"{name}","index":{i},"provider_name":"registry.terraform.io/hashicorp/aws","change":{{"actions":{actions},"before":{before},"after":{after},"after_unknown":{{"id":{unknown}}},"before_sensitive":{{}},"after_sensitive":{{"tags":{{}}}}}}}}"#,
            unknown = before == "null"
        );
        if after != "null" {
            if !planned.is_empty() {
                planned.push(',');
            }
            let _ = write!(
                planned,
                r#"{{"address":"{address}","mode":"managed","type":"{rtype}","name":"{name}","index":{i},"provider_name":"registry.terraform.io/hashicorp/aws","schema_version":1,"values":{after},"sensitive_values":{{}}}}"#
            );
        }
        if i < 50 {
            if !config.is_empty() {
                config.push(',');
            }
            let _ = write!(
                config,
                r#"{{"address":"{rtype}.{name}","mode":"managed","type":"{rtype}","name":"{name}","provider_config_key":"aws","schema_version":1}}"#
            );
        }
    }
    let json = format!(
        r#"{{"format_version":"1.2","terraform_version":"1.9.5","planned_values":{{"root_module":{{"resources":[{planned}]}}}},"resource_changes":[{changes}],"configuration":{{"provider_config":{{"aws":{{"name":"aws","full_name":"registry.terraform.io/hashicorp/aws","expressions":{{"region":{{"constant_value":"us-east-1"}}}}}}}},"root_module":{{"resources":[{config}]}}}},"timestamp":"2026-11-23T12:00:00Z","applyable":true,"complete":true,"errored":false}}"#
    );
    (json, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_plans_classify_as_expected() {
        let (json, counts) = plan_json(1_000);
        assert!(counts.delete > 0 && counts.replace > 0 && counts.create > 0);
        let f = airlock_classify::plan::classify_plan(&json);
        assert_eq!(
            f.resources,
            Some(counts.changed() as u64),
            "{:?}",
            f.parts.first()
        );
        assert_ne!(
            f.effect(),
            airlock_model::Effect::Unknown,
            "{:?}",
            f.parts.first()
        );
        assert!(f.effect() >= airlock_model::Effect::Delete);
        assert_eq!(plan_json(1_000).0, json);
    }
}
