-- One database per service: services never read each other's data.
CREATE DATABASE grid;
CREATE DATABASE points;
CREATE DATABASE dispatch;
CREATE DATABASE legal;
CREATE DATABASE gateway;
