//! Where the application reads the time: the system clock, or a fixed instant in tests.

/// A source of "now".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// Always this instant (ms since the epoch).
    Fixed(i64),
}

impl Clock {
    /// Milliseconds since the epoch.
    pub fn now_ms(self) -> i64 {
        match self {
            Clock::System => parindex_store::now_ms(),
            Clock::Fixed(ms) => ms,
        }
    }
}
