//! Terraform's own test framework on the examples: `terraform test` and
//! `tofu test` run the `.tftest.hcl` files shipped with them offline, the
//! genesis provider mocked (`mock_provider`) and no cloud or simulator
//! running. The real provider still validates the configuration, so a
//! mock's random computed ID is refused where a cluster ID belongs: the
//! shipped tests give the IDs they need defaults of the right shape, as
//! docs/guides/testing.md tells module authors to.
//!
//! On every client: each implements the test framework and its mocks
//! itself (Terraform 1.7+, OpenTofu 1.8+), and they differ (OpenTofu
//! refuses mocked values for attributes that are not computed).

use crate::harness::{Workspace, each_terraform};

#[test]
fn the_quickstarts_tests_pass_offline_with_the_provider_mocked() {
    each_terraform(|tf| {
        let ws = Workspace::example(tf, "quickstart");
        let out = ws.run(&["test", "-no-color"]);
        assert!(
            out.status.success() && out.stdout.contains("Success! 5 passed, 0 failed"),
            "{}\n{}",
            out.stdout,
            out.stderr
        );

        // Without the defaults, the mocked cluster ID is refused by the
        // workloads' own validation, naming the attribute.
        ws.write(
            "tests/bare.tftest.hcl",
            "mock_provider \"genesis\" {}\n\nrun \"applies\" {}\n",
        );
        let out = ws.run(&["test", "-no-color", "-filter=tests/bare.tftest.hcl"]);
        assert!(!out.status.success());
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("is not a cluster ID") && said.contains("genesis_workload.api"),
            "{said}"
        );
    });
}
