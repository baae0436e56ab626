//! IMAGE_PULL_NOT_NETWORK: a start failure whose reason names a permission or the image, not
//! the network: said plainly, so nobody hunts for a route that is not missing.

use super::stop_view::StopView;
use crate::domain::hop::Hop;
use crate::domain::stop::FailureClass;
use crate::domain::text::truncate_chars;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "IMAGE_PULL_NOT_NETWORK",
    severity: Severity::Info,
    hop: Hop::Registry,
    cause: Cause::Conflict,
    title: "The task failed to start for a reason that is not the network",
    remediation: "For a permission: give the task execution role ecr:GetAuthorizationToken, \
                  ecr:BatchGetImage, ecr:GetDownloadUrlForLayer (and secretsmanager:GetSecretValue, \
                  ssm:GetParameters, kms:Decrypt for secrets), or fix the repository policy or \
                  registry credentials. For an image: check the repository name and tag exist \
                  in that registry and region.",
};

/// Evaluates the rule.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some((_, class)) = view.pull() else {
        return Ok(Outcome::NotApplicable);
    };
    let what = match class {
        FailureClass::Network => return Ok(Outcome::Pass("a network cause".into())),
        FailureClass::Permission => {
            "a permission was refused (IAM, repository policy or registry credentials)"
        }
        FailureClass::Image => {
            "the image or tag does not exist (or is not visible to this account)"
        }
        FailureClass::Other => "the reason is not one this checker recognises as a network failure",
    };
    Ok(Outcome::Fail(RULE.finding(format!(
        "Not a network cause: {what}. Reason: {}",
        truncate_chars(&view.stop.stopped_reason, 600)
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let cases = [
            ("network", image_pull_private(), None),
            (
                "permission",
                with_reason(image_pull_private(), "ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken"),
                Some((Severity::Info, "Not a network cause: a permission was refused")),
            ),
            (
                "image",
                with_reason(image_pull_private(), "CannotPullContainerError: manifest unknown: requested image not found"),
                Some((Severity::Info, "the image or tag does not exist")),
            ),
            ("health-check kill", health_kill(), None),
        ];
        for (name, stop, want) in cases {
            expect(name, &run(&stop, check), want);
        }
    }
}
