//! Keyset pages: a bounded size and the items after a unique sort key.

use super::InventoryError;

/// How many items one page may hold: 1 to [`PageSize::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize(u64);

impl PageSize {
    pub const MAX: i32 = 100;
    /// What a page holds when the client does not say.
    pub const DEFAULT: i32 = 50;

    pub fn new(first: i32) -> Result<Self, InventoryError> {
        if (1..=Self::MAX).contains(&first) {
            Ok(PageSize(first as u64))
        } else {
            Err(InventoryError::invalid(
                "first",
                format!("must be between 1 and {}, got {first}", Self::MAX),
            ))
        }
    }

    pub fn get(&self) -> u64 {
        self.0
    }
}

/// One page of items in sort order.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from a query that fetched one row more than the page
    /// size: that extra row only says whether another page follows.
    pub fn from_overfetch(mut rows: Vec<T>, size: PageSize) -> Self {
        let has_next_page = rows.len() as u64 > size.get();
        rows.truncate(size.get() as usize);
        Page {
            items: rows,
            has_next_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_outside_one_to_a_hundred_are_refused() {
        assert!(PageSize::new(0).is_err());
        assert!(PageSize::new(-5).is_err());
        assert!(PageSize::new(101).is_err());
        assert_eq!(PageSize::new(100).unwrap().get(), 100);
    }

    #[test]
    fn an_overfetched_row_means_another_page() {
        let size = PageSize::new(2).unwrap();
        let page = Page::from_overfetch(vec![1, 2, 3], size);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_next_page);
        let last = Page::from_overfetch(vec![1, 2], size);
        assert!(!last.has_next_page);
    }
}
