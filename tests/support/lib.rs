//! Test support shared by the integration tests (`tests/it`), the seed demo (`tests/demo`) and
//! the benchmark (`benches/checker.rs`): one moto server per process and a counting,
//! fault-injecting proxy ([`harness`]), the worlds the tests build in it ([`world`]), a
//! minimal local Lambda Runtime API that runs the function binary as a process
//! ([`runtime_api`]), and the SAM template resolved as CloudFormation would ([`cfn`]).
//! A dev-only crate, so nothing here is compiled into the product.

pub mod cfn;
pub mod harness;
pub mod runtime_api;
pub mod world;

use std::path::PathBuf;

/// The path of one of the package's binaries, next to the running test or benchmark
/// (`target/<profile>/deps/<test>` → `target/<profile>/<name>`), as cargo lays them out.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with cargo, which builds the binaries first",
        path.display()
    );
    path
}
