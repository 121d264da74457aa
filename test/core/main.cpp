#define BOOST_TEST_MODULE duplex_core
#include <boost/test/unit_test.hpp>
