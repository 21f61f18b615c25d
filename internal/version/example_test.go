package version_test

import (
	"fmt"

	"github.com/patchwave/patchwave/internal/version"
)

func ExampleFor() {
	compare, err := version.For("Debian:12")
	if err != nil {
		panic(err)
	}
	installed, fixed := "1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u5"
	fmt.Println("vulnerable:", compare(installed, fixed) < 0)

	_, err = version.For("debian:12")
	fmt.Println(err)
	// Output:
	// vulnerable: true
	// version: unknown ecosystem "debian:12" (ecosystem names are case-sensitive: did you mean "Debian"?)
}

func ExampleValid() {
	for _, v := range []string{"1:2.38.1-5+deb12u3", "1:", "a:1.0", "1.0-"} {
		fmt.Println(version.Valid("Debian", v))
	}
	fmt.Println(version.Valid("AlmaLinux:9", "1-2-3"))
	fmt.Println(version.Valid("Alpine:v3.19", "1.2.0A-r0"))
	fmt.Println(version.Valid("npm", "1.2"))
	// Output:
	// <nil>
	// invalid dpkg version "1:": nothing after colon in version number
	// invalid dpkg version "a:1.0": epoch in version is not a number
	// invalid dpkg version "1.0-": revision number is empty
	// invalid rpm version "1-2-3": invalid character "-" in version
	// invalid apk version "1.2.0A-r0": unexpected "A-r0" at byte 5: not number{.number}{letter}{_suffix{number}}{-rN}
	// invalid semver version "1.2": core version is not MAJOR.MINOR.PATCH
}

func ExampleCompareDpkg() {
	fmt.Println(version.CompareDpkg("1.0~rc1", "1.0"))                // tilde sorts first
	fmt.Println(version.CompareDpkg("1:1.0", "2.0"))                  // the epoch decides
	fmt.Println(version.CompareDpkg("2.0-1ubuntu1", "2.0-1+deb12u1")) // letters before '+'
	// Output:
	// -1
	// 1
	// -1
}

func ExampleCompareRPM() {
	fmt.Println(version.CompareRPM("1.0^git1-1", "1.0-1"))              // caret sorts after the base
	fmt.Println(version.CompareRPM("3.5.5-4.el9_8", "1:3.5.5-4.el9_8")) // a missing epoch is 0
	// Output:
	// 1
	// -1
}

func ExampleCompareAPK() {
	fmt.Println(version.CompareAPK("1.2_rc1-r0", "1.2-r0")) // _rc sorts before the release
	fmt.Println(version.CompareAPK("1.2_p1-r0", "1.2-r0"))  // _p sorts after it
	// Output:
	// -1
	// 1
}
