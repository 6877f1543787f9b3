// The precompiled header of the test programs: the project's, plus GoogleTest.
#include "pch.hpp"

#include <gtest/gtest.h>
