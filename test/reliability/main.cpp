#define BOOST_TEST_MODULE duplex_reliability
#include <boost/test/unit_test.hpp>
