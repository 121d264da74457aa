#define BOOST_TEST_MODULE duplex_rpc
#include <boost/test/unit_test.hpp>
