//! How much searching one plan may do, counted so that the same input
//! always gets the same plan.

/// How much searching one plan may do, in search nodes: deterministic, so
/// the same input always gives the same plan. The default keeps a 50-line
/// order over 400 warehouses well under 100 ms on one core (see README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchBudget {
    pub nodes: u64,
}

impl Default for SearchBudget {
    fn default() -> Self {
        SearchBudget { nodes: 50_000 }
    }
}

/// What is left of a budget as a search spends it.
pub(super) struct Counter {
    pub left: u64,
    pub exhausted: bool,
}

impl Counter {
    pub fn new(budget: SearchBudget) -> Self {
        Counter {
            left: budget.nodes,
            exhausted: false,
        }
    }

    /// Spends `nodes` at once; false (spending nothing) when fewer are left.
    pub fn spend_many(&mut self, nodes: u64) -> bool {
        if self.left < nodes {
            self.exhausted = true;
            return false;
        }
        self.left -= nodes;
        true
    }

    /// Spends one node; false once the budget is gone.
    pub fn spend(&mut self) -> bool {
        if self.left == 0 {
            self.exhausted = true;
            return false;
        }
        self.left -= 1;
        true
    }
}
