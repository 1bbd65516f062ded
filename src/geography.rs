//! Locations on the earth and the distance between them.
//!
//! Every distance in stockroute comes from [`distance_km`]: geodesic on the
//! WGS84 ellipsoid, with x = longitude and y = latitude as geo-types expects.

use geo::{Distance, Geodesic};
use geo_types::Point;

/// A validated position: latitude in -90..=90, longitude in -180..=180,
/// both finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Location(Point<f64>);

/// Why a pair of coordinates is not a [`Location`]; names the bad field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationError {
    #[error("latitude must be a number between -90 and 90, got {0}")]
    Latitude(f64),
    #[error("longitude must be a number between -180 and 180, got {0}")]
    Longitude(f64),
}

impl LocationError {
    /// The input field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            LocationError::Latitude(_) => "latitude",
            LocationError::Longitude(_) => "longitude",
        }
    }
}

impl Location {
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, LocationError> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(LocationError::Latitude(latitude));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(LocationError::Longitude(longitude));
        }
        Ok(Location(Point::new(longitude, latitude)))
    }

    pub fn latitude(&self) -> f64 {
        self.0.y()
    }

    pub fn longitude(&self) -> f64 {
        self.0.x()
    }

    pub fn point(&self) -> Point<f64> {
        self.0
    }

    /// Well-known text, as PostGIS writes it: `POINT(lon lat)`.
    pub fn wkt(&self) -> String {
        format!("POINT({} {})", self.longitude(), self.latitude())
    }
}

/// Geodesic distance in kilometres.
pub fn distance_km(a: Location, b: Location) -> f64 {
    Geodesic.distance(a.point(), b.point()) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_to_paris_is_about_878_km() {
        let berlin = Location::new(52.5200, 13.4050).unwrap();
        let paris = Location::new(48.8566, 2.3522).unwrap();
        let km = distance_km(berlin, paris);
        assert!((km - 878.0).abs() < 3.0, "{km}");
        assert_eq!(distance_km(berlin, berlin), 0.0);
    }

    #[test]
    fn out_of_range_or_non_finite_coordinates_are_refused() {
        assert_eq!(
            Location::new(90.5, 0.0).unwrap_err(),
            LocationError::Latitude(90.5)
        );
        assert_eq!(Location::new(0.0, -181.0).unwrap_err().field(), "longitude");
        assert!(Location::new(f64::NAN, 0.0).is_err());
        assert!(Location::new(0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn wkt_puts_longitude_first() {
        let tokyo = Location::new(35.6762, 139.6503).unwrap();
        assert_eq!(tokyo.wkt(), "POINT(139.6503 35.6762)");
    }
}
