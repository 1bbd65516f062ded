//! How long the planner takes, per strategy, on orders of 5 lines over 50
//! warehouses, 10 over 100, 20 over 200 and 50 over 400 (the sizes of the
//! quality report): `cargo bench --bench planner`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use stockroute::planner::{Strategy, plan};

#[path = "support/orders.rs"]
mod orders;

fn planner(c: &mut Criterion) {
    let mut group = c.benchmark_group("planner");
    for (lines, warehouses) in [(5, 50), (10, 100), (20, 200), (50, 400)] {
        // A few instances per size, so that one lucky layout does not decide.
        let instances: Vec<orders::Instance> = (0..8)
            .map(|seed| orders::instance(seed, lines, warehouses))
            .collect();
        for strategy in Strategy::ALL {
            let id = BenchmarkId::new(format!("{strategy:?}"), format!("{lines}x{warehouses}"));
            group.bench_with_input(id, &instances, |b, instances| {
                let mut next = 0;
                b.iter(|| {
                    let instance = &instances[next % instances.len()];
                    next += 1;
                    plan(&instance.request(strategy))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, planner);
criterion_main!(benches);
