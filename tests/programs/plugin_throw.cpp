// plugin_throw.cpp - a C++ plugin for throw_host.c (a C program): throws
// and catches inside one function, and lets an exception propagate from
// one exported function to a catch in another.
#include <stdexcept>
#include <string>

extern "C" {

// Throws and catches here; returns the length of the message.
__attribute__((noinline)) int
plugin_throw_catch(int x)
{
	try {
		if (x >= 0)
			throw std::runtime_error("boom " + std::to_string(x));
	} catch (const std::exception &e) {
		return (int)std::string(e.what()).size();
	}
	return -1;
}

// Throws and does not catch: the exception leaves the function, unwinding
// a frame that owns a std::string.
__attribute__((noinline)) int
plugin_thrower(int x)
{
	std::string owned(100, 'm');
	if (x > 0)
		throw std::out_of_range("out of range " + std::to_string(x));
	return (int)owned.size();
}

// Catches what plugin_thrower lets through.
__attribute__((noinline)) int
plugin_catcher(int x)
{
	try {
		return plugin_thrower(x);
	} catch (const std::out_of_range &e) {
		return 1000 + (int)std::string(e.what()).size();
	}
}

} // extern "C"
