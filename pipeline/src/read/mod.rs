//! Stage 1, read: files in, [`document::Document`]s out.
//!
//! The readers of each format ([`brat`], [`conllu`], [`enrelg_conll`]) over one
//! text model ([`text`], character offsets as brat counts them) and one document
//! model ([`document`]); [`corpus`] joins a corpus folder's standoff with its
//! parses under a [`manifest`]; [`import`] lays a user's brat folder out as such
//! a corpus; [`tree`] walks input folders and [`input`] checks raw texts to tag.

pub mod brat;
pub mod conllu;
pub mod corpus;
pub mod document;
pub mod enrelg_conll;
pub mod import;
pub mod input;
pub mod manifest;
pub mod text;
pub mod tree;
