#include <chrono>
#include <iostream>
#include <ranges>
#include <thread>

int main() {
  for (int n : std::views::iota(1, 5)) {
    std::cout << n << " squared is " << n * n << std::endl;  // endl flushes
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
  }
}
