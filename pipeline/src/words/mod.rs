//! Stage 3, what each word carries besides its form and label: its [`lemma`], the
//! [`acronym`] definitions that link it to a long form, and the inputs the model may
//! embed ([`affix`]es, [`shape`], [`chars`], the [`syntax`] ids of its POS and
//! dependency relation).

pub mod acronym;
pub mod affix;
pub mod chars;
pub mod lemma;
pub mod shape;
pub mod syntax;
