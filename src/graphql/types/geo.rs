use async_graphql::{InputObject, Object};

use crate::{geography::Location, graphql::ApiError};

/// A point on the earth, in degrees (WGS84).
#[derive(InputObject, Clone, Copy, Debug)]
pub struct LocationInput {
    /// -90..90
    pub latitude: f64,
    /// -180..180
    pub longitude: f64,
}

impl LocationInput {
    /// The validated location; errors name `argument` and the bad field.
    pub fn parse(self, argument: &str) -> Result<Location, ApiError> {
        Location::new(self.latitude, self.longitude)
            .map_err(|e| ApiError::bad_location(argument, e))
    }
}

/// A point on the earth.
pub struct GeoPoint(pub Location);

#[Object]
impl GeoPoint {
    async fn latitude(&self) -> f64 {
        self.0.latitude()
    }

    async fn longitude(&self) -> f64 {
        self.0.longitude()
    }

    /// Well-known text, `POINT(lon lat)`, as PostGIS writes it.
    async fn wkt(&self) -> String {
        self.0.wkt()
    }
}
