//! How facts are read: [`waves`] reads one task's facts in named waves of concurrent reads
//! through the reader ports; [`cache`] is the warm cache, [`deadline`] the invocation's time
//! budget and [`limit`] the API budget, decorators over the readers.

/// Implements every reader port for a decorator that wraps each read of `self.inner` in
/// `self.$read(api, read)` (the listings of the audit and the Config scan in
/// `self.$list(api, read)`), naming the read's first IAM action. Generated from the one
/// declaration of the reads (`crate::ports::with_reads!`): the decorators that only act
/// around a read (the deadline, the API budget) are written once, here.
macro_rules! decorate_reads {
    ($decorator:ty, reads = $read:ident, listings = $list:ident) => {
        $crate::ports::with_reads!(decorated_reads [$decorator, $read, $list]);
    };
}

/// The generator behind [`decorate_reads!`].
macro_rules! decorated_reads {
    ([$decorator:ty, $read:ident, $list:ident]
     $(
        $(#[$port_doc:meta])*
        $port:ident ($kind:ident) {
            $(
                $(#[$doc:meta])*
                fn $method:ident ($($arg:ident : $ty:ty),*) -> $ret:ty
                    [$api:ident $(, $more:ident)*] cache $policy:tt;
            )*
        }
     )*
    ) => {
        const _: () = {
            use $crate::domain::facts::{
                Host, Listener, LoadBalancer, NatGateway, NatInstance, NetworkInterface,
                RouteTable, Service, Subnet, TargetGroup, TargetHealth, TaskDefinition, VpcDns,
                VpcEndpoint,
            };
            use $crate::domain::net::{NetworkAcl, SecurityGroup};
            use $crate::domain::task::TaskDetail;
            use $crate::ports::{ReadError, ReadResult, Selection};
            $(
                impl<R: $crate::ports::$port> $crate::ports::$port for $decorator {
                    $(
                        async fn $method(&self, $($arg: $ty),*) -> $ret {
                            decorated_call!(
                                $kind,
                                self,
                                $read,
                                $list,
                                $crate::domain::api::$api,
                                self.inner.$method($($arg),*)
                            )
                        }
                    )*
                }
            )*
        };
    };
}

/// A read through the decorator's `$read`, a listing through its `$list`.
macro_rules! decorated_call {
    (reads, $this:ident, $read:ident, $list:ident, $api:expr, $call:expr) => {
        $this.$read($api, $call).await
    };
    (listings, $this:ident, $read:ident, $list:ident, $api:expr, $call:expr) => {
        $this.$list($api, $call).await
    };
}

pub mod cache;
pub mod deadline;
pub mod limit;
pub mod planned;
pub mod stopped;
pub mod waves;

#[cfg(test)]
pub mod fake;
