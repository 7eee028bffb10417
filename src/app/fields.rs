//! Field Management use cases (admin console and CLI share them).

use super::{Actor, App, audit};
use crate::domain::fields::{FieldDefinition, FieldSpec, SpecError};
use crate::error::{Error, Problem};
use crate::store::{self, StoreError};

fn spec_problem(e: SpecError) -> Error {
    let field = match e {
        SpecError::BadKey => "key",
        SpecError::EmptyLabel | SpecError::LabelTooLong => "label",
        SpecError::BadPattern(_) => "pattern",
        _ => "options",
    };
    Error::Form(vec![Problem::new(field, e.message_key(), e.english())])
}

fn conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict("field key") => Error::form(
            "key",
            "err.field_key_taken",
            "a field with this key already exists",
        ),
        StoreError::Conflict(_) => Error::form(
            "unique",
            "err.field_unique_clash",
            "two accounts already share a value of this field, so it cannot be unique",
        ),
        other => Error::from(other),
    }
}

impl App {
    pub fn fields(&self) -> Result<Vec<FieldDefinition>, Error> {
        Ok(self.store.read(store::fields::list)?)
    }

    pub fn field(&self, id: i64) -> Result<FieldDefinition, Error> {
        self.store
            .read(|c| store::fields::get(c, id))?
            .ok_or_else(|| Error::NotFound("field".into()))
    }

    pub fn add_field(&self, actor: &Actor, spec: FieldSpec) -> Result<i64, Error> {
        let spec = spec.validated().map_err(spec_problem)?;
        self.store.write(|tx| {
            let id = store::fields::insert(tx, &spec).map_err(conflict)?;
            audit(
                tx,
                actor,
                "admin.field.create",
                None,
                &format!("{} ({})", spec.key, spec.kind.as_str()),
            )?;
            Ok(id)
        })
    }

    pub fn update_field(&self, actor: &Actor, id: i64, spec: FieldSpec) -> Result<(), Error> {
        let spec = spec.validated().map_err(spec_problem)?;
        self.store.write(|tx| {
            store::fields::update(tx, id, &spec).map_err(conflict)?;
            audit(tx, actor, "admin.field.update", None, &spec.key)
        })
    }

    /// Deletes a field definition and every account's value of it.
    pub fn delete_field(&self, actor: &Actor, id: i64) -> Result<(), Error> {
        self.store.write(|tx| {
            let f = store::fields::get(tx, id)?.ok_or_else(|| Error::NotFound("field".into()))?;
            store::fields::delete(tx, id)?;
            audit(tx, actor, "admin.field.delete", None, &f.spec.key)
        })
    }

    /// Moves a field one place up (`-1`) or down (`+1`) in the display order.
    pub fn move_field(&self, actor: &Actor, id: i64, delta: i64) -> Result<(), Error> {
        self.store.write(|tx| {
            let mut ids: Vec<i64> = store::fields::list(tx)?.iter().map(|f| f.id).collect();
            let Some(pos) = ids.iter().position(|x| *x == id) else {
                return Err(Error::NotFound("field".into()));
            };
            let target = pos as i64 + delta;
            if target < 0 || target >= ids.len() as i64 {
                return Ok(());
            }
            ids.swap(pos, target as usize);
            store::fields::reorder(tx, &ids)?;
            audit(tx, actor, "admin.field.reorder", None, "")
        })
    }
}
