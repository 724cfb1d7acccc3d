//! The bench terminal application: Elm-style. Input becomes an `Action`,
//! `update` changes the `State` and asks for `Effect`s, `view` draws the state.

pub mod action;
pub mod effect;
pub mod exec;
pub mod input;
pub mod keymap;
pub mod keys;
pub mod runtime;
pub mod scan;
pub mod state;
pub mod update;
pub mod view;
