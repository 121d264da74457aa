#define BOOST_TEST_MODULE duplex_netns
#include <boost/test/unit_test.hpp>
