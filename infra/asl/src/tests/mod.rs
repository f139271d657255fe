mod choice;
mod definition;
mod engine;
mod intrinsics;
mod states;
mod support;
mod tasks;
