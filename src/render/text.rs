//! The human text of an evaluation (the alert's e-mail and `check --format text`): what, why,
//! how to fix, and the IDs, one line per user-controlled value.

use crate::domain::evaluation::Evaluation;
use crate::domain::org::name_of;
use crate::domain::text::one_line;
use crate::domain::verdict::Status;

/// The alert's headline: the stop's kind, or whether the task is unreachable.
pub(crate) fn headline(evaluation: &Evaluation) -> &'static str {
    if let Some(stop) = &evaluation.stop {
        return stop.kind.headline();
    }
    if evaluation.compliance == Status::NonCompliant {
        "ECS task unreachable"
    } else {
        "ECS task network advisory"
    }
}

/// (what: the service or the task, cluster), as the alert names them.
pub(crate) fn names(evaluation: &Evaluation) -> (String, String) {
    let ctx = evaluation.context.clone().unwrap_or_default();
    let task_id = name_of(&evaluation.resource_id);
    let what = ctx.service.unwrap_or_else(|| format!("task {task_id}"));
    let cluster = ctx.cluster.unwrap_or_else(|| "unknown cluster".into());
    (what, cluster)
}

/// The human text of an evaluation: what, why, how to fix, and the IDs.
pub fn text_body(evaluation: &Evaluation) -> String {
    let ctx = evaluation.context.clone().unwrap_or_default();
    let mut body = String::new();
    let what = match (&evaluation.stop, evaluation.compliance) {
        (Some(stop), _) => stop.kind.headline(),
        (None, Status::NonCompliant) => "an ECS task has no valid inbound path",
        (None, _) => "an ECS task's network setup needs attention",
    };
    body.push_str(&format!(
        "ecs-inbound-guard: {what} ({}).\n\n",
        evaluation.compliance.as_str()
    ));
    if let Some(stop) = &evaluation.stop {
        for (label, value) in [
            ("Stop reason", &stop.stopped_reason),
            ("Stop code", &stop.stop_code),
            ("Stopped task", &stop.stopped_task),
            ("Deployment", &stop.deployment_id),
            ("ECS said", &stop.event_reason),
        ] {
            if let Some(v) = value {
                body.push_str(&format!("{label}: {}\n", one_line(v)));
            }
        }
        body.push('\n');
    }
    if evaluation.findings.is_empty() {
        body.push_str(&format!("{}\n\n", one_line(&evaluation.annotation)));
    }
    for f in &evaluation.findings {
        body.push_str(&format!("[{}] {}\n", f.severity.as_str(), f.rule));
        // Messages carry user-controlled names (tags, resource names): one line each, so a
        // newline in a name cannot forge a line of its own.
        body.push_str(&format!("What and why: {}\n", one_line(&f.message)));
        body.push_str(&format!("How to fix:   {}\n\n", one_line(&f.remediation)));
    }
    if let Some(s) = &evaluation.suppressed {
        body.push_str(&format!(
            "Suppressed by tag ecs-inbound-guard:ignore: {}\n\n",
            one_line(&s.join(", "))
        ));
    }
    body.push_str("Resources\n");
    let rows: [(&str, Option<String>); 14] = [
        (
            if evaluation.resource_type == crate::domain::stop::SERVICE_RESOURCE_TYPE {
                "Service ARN"
            } else {
                "Task ARN"
            },
            Some(evaluation.resource_id.clone()),
        ),
        ("Account", ctx.account.clone()),
        ("Region", ctx.region.clone()),
        ("Cluster", ctx.cluster.clone()),
        ("Service", ctx.service.clone()),
        ("Task definition", ctx.task_definition.clone()),
        ("Started by", ctx.started_by.clone()),
        ("ENI", ctx.eni.clone()),
        ("Subnet", ctx.subnet.clone()),
        ("Route table", ctx.route_table.clone()),
        ("VPC", ctx.vpc.clone()),
        ("Private IP", ctx.private_ip.clone()),
        ("Host instance", ctx.host_instance_id.clone()),
        ("Host public IP", ctx.host_public_ip.clone()),
    ];
    for (label, value) in rows {
        if let Some(v) = value {
            body.push_str(&format!("  {label:<16} {}\n", one_line(&v)));
        }
    }
    if let Some(id) = &evaluation.event_id {
        body.push_str(&format!("  {:<16} {}\n", "Event id", one_line(id)));
    }
    body.push_str(&format!(
        "  {:<16} {}\n",
        "Evaluated at", evaluation.evaluated_at
    ));
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;
    use crate::render::sample_evaluation as evaluation;

    #[test]
    fn a_newline_in_a_name_cannot_forge_a_line_of_the_e_mail() {
        let mut e = evaluation(Status::NonCompliant, Some("web"), "prod");
        e.findings = vec![RULE.finding("service x\n[HIGH] FAKE_RULE\nWhat and why: ok".into())];
        let body = text_body(&e);
        assert!(
            !body.lines().any(|l| l.starts_with("[HIGH] FAKE_RULE")),
            "{body}"
        );
    }
}
