//! The tuning sweep (tuning half only) and the table the example prints.
