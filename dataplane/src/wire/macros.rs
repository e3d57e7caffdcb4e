//! Helper macros of the wire module.

/// Declares a C-like enum over an integer wire value with a catch-all
/// `Unknown(raw)` variant, plus lossless conversions both ways.
///
/// `From<raw>` maps a named value to its named variant, so values built that
/// way compare equal; constructing `Unknown(v)` by hand with a named `v` gives
/// a non-canonical value (it still converts back to `v`).
macro_rules! enum_with_unknown {
    (
        $(#[$enum_attr:meta])*
        pub enum $name:ident($ty:ty) {
            $(
                $(#[$variant_attr:meta])*
                $variant:ident = $value:expr
            ),+ $(,)?
        }
    ) => {
        $(#[$enum_attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $(
                $(#[$variant_attr])*
                $variant,
            )+
            /// A value without a name here.
            Unknown($ty),
        }

        impl $name {
            /// Decodes a raw wire value.
            #[inline]
            pub const fn from_raw(value: $ty) -> Self {
                $(
                    if value == $value {
                        return $name::$variant;
                    }
                )+
                $name::Unknown(value)
            }

            /// The raw wire value.
            #[inline]
            pub const fn raw(self) -> $ty {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl From<$ty> for $name {
            #[inline]
            fn from(value: $ty) -> Self {
                $name::from_raw(value)
            }
        }

        impl From<$name> for $ty {
            #[inline]
            fn from(value: $name) -> Self {
                value.raw()
            }
        }
    };
}
