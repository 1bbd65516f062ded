//! A product in the catalogue (`products`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    pub weight_grams: i32,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub stock_levels: HasMany<super::stock_level::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
